#include "actors/cpu_kernels.hpp"

#include <algorithm>
#include <string>

#include "core/array_impl.hpp"
#include "core/element.hpp"

namespace kvs::detail {

namespace {

void check_view(const array_view& v, const char* role) {
  if (v.array.is_none())
    throw kvs::error(errc::invalid_argument, std::string(role) + " is a none ndarray");
  if (v.array.storage() != storage::dense)
    throw kvs::error(errc::invalid_argument, std::string(role) + " must be dense");
  if (!range_within(v.offset, v.count, v.array.size()))
    throw kvs::error(errc::invalid_argument,
                     std::string(role) + " range [" + std::to_string(v.offset) + ", " +
                         std::to_string(v.offset + v.count) + ") is outside its " +
                         std::to_string(v.array.size()) + " elements");
}

void check_same(const array_view& v, const array_view& ref, const char* role) {
  check_view(v, role);
  if (v.array.dtype() != ref.array.dtype())
    throw kvs::error(errc::dtype_mismatch, std::string(role) + " has dtype " +
                                               to_string(v.array.dtype()) + ", expected " +
                                               to_string(ref.array.dtype()));
  if (v.count != ref.count)
    throw kvs::error(errc::shape_mismatch, std::string(role) + " has " + std::to_string(v.count) +
                                               " elements, expected " + std::to_string(ref.count));
}

template <class T>
T* at(const array_view& v, uint64_t begin) {
  return static_cast<T*>(ndarray_access::raw(v.array)) + v.offset + begin;
}

// Plain arithmetic types: up to four sources per pass over a cache-sized
// chunk, so the destination is read and written once from memory.
template <class T>
void sum_plain(const reduce_job& job, uint64_t begin, uint64_t end) {
  constexpr uint64_t chunk = 4096;
  size_t n = job.inputs.size();
  for (uint64_t b = begin; b < end; b += chunk) {
    uint64_t len = std::min(chunk, end - b);
    T* __restrict d = at<T>(job.dest, b);
    bool acc = job.accumulate;
    for (size_t k = 0; k < n; k += 4) {
      size_t group = std::min<size_t>(4, n - k);
      const T* __restrict s0 = at<T>(job.inputs[k], b);
      const T* __restrict s1 = group > 1 ? at<T>(job.inputs[k + 1], b) : nullptr;
      const T* __restrict s2 = group > 2 ? at<T>(job.inputs[k + 2], b) : nullptr;
      const T* __restrict s3 = group > 3 ? at<T>(job.inputs[k + 3], b) : nullptr;
      switch (group * 2 + (acc ? 1 : 0)) {
        case 2: for (uint64_t i = 0; i < len; ++i) d[i] = s0[i]; break;
        case 3: for (uint64_t i = 0; i < len; ++i) d[i] += s0[i]; break;
        case 4: for (uint64_t i = 0; i < len; ++i) d[i] = s0[i] + s1[i]; break;
        case 5: for (uint64_t i = 0; i < len; ++i) d[i] += s0[i] + s1[i]; break;
        case 6: for (uint64_t i = 0; i < len; ++i) d[i] = s0[i] + s1[i] + s2[i]; break;
        case 7: for (uint64_t i = 0; i < len; ++i) d[i] += s0[i] + s1[i] + s2[i]; break;
        case 8: for (uint64_t i = 0; i < len; ++i) d[i] = (s0[i] + s1[i]) + (s2[i] + s3[i]); break;
        default: for (uint64_t i = 0; i < len; ++i) d[i] += (s0[i] + s1[i]) + (s2[i] + s3[i]); break;
      }
      acc = true;
    }
  }
}

// 16-bit floats: widen to float, sum in float, round once at the end.
template <float (*Widen)(uint16_t), uint16_t (*Narrow)(float)>
void sum_half(const reduce_job& job, uint64_t begin, uint64_t end) {
  constexpr uint64_t chunk = 1024;
  float acc[chunk];
  for (uint64_t b = begin; b < end; b += chunk) {
    uint64_t len = std::min(chunk, end - b);
    uint16_t* d = at<uint16_t>(job.dest, b);
    for (uint64_t i = 0; i < len; ++i)
      acc[i] = job.accumulate ? Widen(d[i]) : 0.0f;
    for (auto& in : job.inputs) {
      const uint16_t* s = at<uint16_t>(in, b);
      for (uint64_t i = 0; i < len; ++i)
        acc[i] += Widen(s[i]);
    }
    for (uint64_t i = 0; i < len; ++i)
      d[i] = Narrow(acc[i]);
  }
}

}  // namespace

char* view_memory(const array_view& v) {
  return static_cast<char*>(ndarray_access::raw(v.array)) + v.offset * size_of(v.array.dtype());
}

void check_job(const reduce_job& job) {
  check_view(job.dest, "the reduction's destination");
  if (job.inputs.empty())
    throw kvs::error(errc::invalid_argument, "a reduction needs at least one input");
  for (auto& in : job.inputs)
    check_same(in, job.dest, "a reduction input");
}

void check_job(const copy_job& job) {
  check_view(job.source, "the copy's source");
  for (auto& d : job.dests)
    check_same(d, job.source, "a copy destination");
}

void sum_range(const reduce_job& job, uint64_t begin, uint64_t end) {
  switch (job.dest.array.dtype()) {
    case dtype::f32: return sum_plain<float>(job, begin, end);
    case dtype::f64: return sum_plain<double>(job, begin, end);
    case dtype::i32: return sum_plain<int32_t>(job, begin, end);
    case dtype::i64: return sum_plain<int64_t>(job, begin, end);
    case dtype::u8: return sum_plain<uint8_t>(job, begin, end);
    case dtype::f16: return sum_half<half_to_float, float_to_half>(job, begin, end);
    case dtype::bf16: return sum_half<bf16_to_float, float_to_bf16>(job, begin, end);
  }
}

void copy_range(const copy_job& job, uint64_t begin, uint64_t end) {
  if (end <= begin)
    return;
  auto& src = job.source;
  for (auto& d : job.dests)
    copy_elements(src.array, src.offset + begin, d.array, d.offset + begin, end - begin);
}

}  // namespace kvs::detail
