// The worker's compression stage (docs/compression.md): a push's arrays are
// packed part by part, each with the worker's residual for that key and
// array, so a key split across servers is compressed per part and each
// server unpacks its part alone. Answers that come back packed (compressed
// pulls) are unpacked straight into host outputs (into a float buffer to be
// copied, for outputs on a GPU).
#include "actors/worker_route.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/cpu_kernels.hpp"
#include "core/array_impl.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

namespace {

bool compress_applies(const worker_state& st, const running_op& r) {
  return st.compression.type != codec::none && !r.first_failure &&
         (r.op->kind == op_kind::push || r.op->kind == op_kind::pushpull);
}

const float* floats(const ndarray& a) { return static_cast<const float*>(ndarray_access::raw(a)); }

// The residuals of `k`, one per sent array, zero at the key's first push.
std::vector<ndarray>& residuals_of(worker_state& st, const operation& op, size_t arrays) {
  auto& res = st.residuals[op.key];
  auto n = static_cast<int64_t>(op.sample().size());
  while (res.size() < arrays)
    res.push_back(ndarray::zeros({n}, dtype::f32, cpu()));
  return res;
}

void compress_run(worker_impl self, const run_ptr& run) {
  auto& st = self->state;
  auto& c = st.compression;
  auto& op = *run->op;
  std::vector<ndarray> host;  // the quantizer runs on the host
  for (auto& a : run->sent()) {
    if (a.dtype() != dtype::f32)
      throw kvs::error(errc::dtype_mismatch, "gradient compression needs float32 values; a push of " +
                                                 op.key.to_string() + " has another dtype");
    host.push_back(on_gpu(a) ? a.copy_to(cpu()) : a);
  }
  auto& res = residuals_of(st, op, host.size());
  auto ranges = plan_ranges(op, part_opts(st));
  std::vector<std::vector<ndarray>> packed(ranges.size());
  for (size_t p = 0; p < ranges.size(); ++p)
    for (size_t j = 0; j < host.size(); ++j) {
      auto offset = ranges[p].offset, count = ranges[p].count;
      auto out = make_uninitialized({static_cast<int64_t>(packed_bytes(c.type, count))},
                                    dtype::u8, cpu());
      compress(c.type, floats(host[j]) + offset,
               static_cast<float*>(ndarray_access::raw(res[j])) + offset, count, c.threshold,
               static_cast<uint8_t*>(ndarray_access::raw(out)));
      packed[p].push_back(std::move(out));
    }
  run->packed = std::move(packed);
  stage_finished(self, run);
}

}  // namespace

const stage compress_stage{"compress", &compress_applies, &compress_run};

failure unpack_answer(const worker_state& st, const part_range& p,
                      const std::vector<ndarray>& landing, ndarray& value) {
  if (value.dtype() != dtype::u8 || landing.empty() || landing[0].dtype() != dtype::f32 ||
      !st.compression.pull)
    return std::nullopt;  // a plain value
  auto c = st.compression;
  if (value.size() != packed_bytes(c.type, p.count))
    return kvs::error(errc::invalid_argument,
                      "a packed answer of " + std::to_string(value.size()) + " bytes for " +
                          std::to_string(p.count) + " values (" + codec_name(c.type) + " needs " +
                          std::to_string(packed_bytes(c.type, p.count)) + ")");
  return capture([&] {
    // the answer came from outside: a dense array of its bytes, or nothing is read
    check_job(copy_job{array_view::whole(value), {}});
    auto host = on_gpu(value) ? value.copy_to(cpu()) : value;
    auto bytes = static_cast<const uint8_t*>(ndarray_access::raw(host));
    bool on_host = std::none_of(landing.begin(), landing.end(),
                                [](const ndarray& o) { return on_gpu(o); });
    if (on_host) {  // unpacked straight into the outputs: one pass, no float copy
      for (auto& o : landing) {  // every output checked before any is written
        if (o.dtype() != dtype::f32)
          throw kvs::error(errc::dtype_mismatch, std::string("a pull of a float32 key into a ") +
                                                     to_string(o.dtype()) + " output");
        check_job(copy_job{array_view{o, p.offset, p.count, true}, {}});  // dense, the part within it
      }
      for (auto& o : landing)
        decompress(c.type, bytes, p.count, c.threshold,
                   static_cast<float*>(ndarray_access::raw(o)) + p.offset);
      value = ndarray();
      return;
    }
    auto plain = make_uninitialized({static_cast<int64_t>(p.count)}, dtype::f32, cpu());
    decompress(c.type, bytes, p.count, c.threshold, static_cast<float*>(ndarray_access::raw(plain)));
    value = plain;
  });
}

}  // namespace kvs::detail
