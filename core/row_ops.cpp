#include "core/row_ops.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "core/array_impl.hpp"
#include "core/element.hpp"
#include "gpu/gpu_runtime.hpp"
#include "kvs/error.hpp"

namespace kvs::detail {

namespace {

// A host array standing for `a` while a row kernel runs, and how to put the
// result back when `a` is on a GPU.
struct host_view {
  ndarray host;
  ndarray original;
  explicit host_view(const ndarray& a) : host(on_gpu(a) ? a.copy_to(cpu()) : a), original(a) {}
  void write_back() const {
    if (on_gpu(original))
      copy_elements(host, 0, original, 0, host.size());
  }
};

template <class T>
void scatter_typed(const T* s, const std::vector<int64_t>& ids, uint64_t len, T* d, bool acc) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + row_prefetch_distance < ids.size())
      prefetch_row(d + static_cast<uint64_t>(ids[i + row_prefetch_distance]) * len, len * sizeof(T), true);
    T* __restrict to = d + static_cast<uint64_t>(ids[i]) * len;
    const T* __restrict from = s + i * len;
    if (acc)
      for (uint64_t j = 0; j < len; ++j)
        to[j] += from[j];
    else
      std::memcpy(to, from, len * sizeof(T));
  }
}

void scatter_any(const void* s, dtype t, const std::vector<int64_t>& ids, uint64_t len, void* d,
                 bool acc) {
  for (size_t i = 0; i < ids.size(); ++i) {
    uint64_t to = static_cast<uint64_t>(ids[i]) * len, from = i * len;
    for (uint64_t j = 0; j < len; ++j) {
      double v = load_element(s, t, from + j);
      store_element(d, t, to + j, acc ? load_element(d, t, to + j) + v : v);
    }
  }
}

void check_rows_fit(const ndarray& a, const std::vector<int64_t>& ids, uint64_t len,
                    const char* what) {
  uint64_t rows = len == 0 ? 0 : a.size() / len;
  for (auto r : ids)
    if (r < 0 || static_cast<uint64_t>(r) >= rows)
      throw kvs::error(errc::invalid_argument, std::string(what) + ": row " + std::to_string(r) +
                                                   " is outside the " + std::to_string(rows) +
                                                   " rows of the array");
}

}  // namespace

uint64_t row_length(const kvs::shape& s) {
  if (s.empty())
    return 0;
  uint64_t n = 1;
  for (size_t i = 1; i < s.size(); ++i)
    n *= static_cast<uint64_t>(s[i]);
  return n;
}

void check_row_ids(const std::vector<int64_t>& ids, int64_t rows, const std::string& what) {
  int64_t previous = -1;
  for (auto r : ids) {
    if (r < 0 || r >= rows || r <= previous)
      throw kvs::error(errc::invalid_argument,
                       what + ": row ids must be sorted, unique and below " + std::to_string(rows) +
                           "; got " + std::to_string(r) +
                           (previous < 0 ? std::string(" first") : " after " + std::to_string(previous)));
    previous = r;
  }
}

std::vector<int64_t> unique_row_ids(const ndarray& ids, int64_t rows, const std::string& what,
                                    std::vector<int64_t> out) {
  auto t = ids.dtype();
  if (t != dtype::i32 && t != dtype::i64 && t != dtype::u8)
    throw kvs::error(errc::dtype_mismatch, what + ": row ids must be integers (int32, int64 or "
                                                  "uint8), not " + std::string(to_string(t)));
  // Read without waiting: the operation that reads them is already ordered
  // (a later one may hold a write mark on the array).
  auto host = ids;
  if (on_gpu(ids)) {
    host = make_uninitialized(ids.shape(), t, cpu());
    copy_elements(ids, 0, host, 0, ids.size());
  }
  out.resize(ids.size());
  const void* raw = ndarray_access::raw(host);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = t == dtype::i64 ? static_cast<const int64_t*>(raw)[i]
                             : static_cast<int64_t>(load_element(raw, t, i));
  if (!std::is_sorted(out.begin(), out.end()))  // ids are often sorted already
    std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (!out.empty() && (out.front() < 0 || out.back() >= rows))
    throw kvs::error(errc::invalid_argument,
                     what + ": row id " + std::to_string(out.front() < 0 ? out.front() : out.back()) +
                         " is outside [0, " + std::to_string(rows) + ")");
  return out;
}

// Rows are copied as bytes of one element type: both sides must have it.
static void same_dtype(const ndarray& src, const ndarray& dst, const char* what) {
  if (src.dtype() != dst.dtype())
    throw kvs::error(errc::dtype_mismatch, std::string(what) + ": a " + to_string(src.dtype()) +
                                               " source into a " + to_string(dst.dtype()) +
                                               " destination");
}

void scatter_rows(const ndarray& src, uint64_t src_first, const std::vector<int64_t>& ids,
                  uint64_t row_len, const ndarray& dst, bool accumulate) {
  if (ids.empty() || row_len == 0)
    return;
  check_rows_fit(dst, ids, row_len, "scatter of rows");
  same_dtype(src, dst, "scatter of rows");
  if (src_first + ids.size() * row_len > src.size())
    throw kvs::error(errc::invalid_argument, "scatter of rows: the source holds too few rows");
  host_view s(src), d(dst);
  auto t = dst.dtype();
  auto* sp = static_cast<const char*>(ndarray_access::raw(s.host)) + src_first * size_of(t);
  void* dp = ndarray_access::raw(d.host);
  if (t == dtype::f32)
    scatter_typed(reinterpret_cast<const float*>(sp), ids, row_len, static_cast<float*>(dp), accumulate);
  else if (t == dtype::f64)
    scatter_typed(reinterpret_cast<const double*>(sp), ids, row_len, static_cast<double*>(dp), accumulate);
  else
    scatter_any(sp, t, ids, row_len, dp, accumulate);
  d.write_back();
}

void gather_rows(const ndarray& src, const std::vector<int64_t>& ids, uint64_t row_len,
                 const ndarray& dst, uint64_t dst_first) {
  check_rows_fit(src, ids, row_len, "gather of rows");
  same_dtype(src, dst, "gather of rows");
  if (dst_first + ids.size() * row_len > dst.size())
    throw kvs::error(errc::invalid_argument, "gather of rows: the destination holds too few rows");
  if (!on_gpu(src) && !on_gpu(dst)) {
    // Host to host: one copy per run of consecutive ids, the source row
    // a few ids ahead asked for while this run is copied.
    auto bytes = row_len * size_of(src.dtype());
    auto* from = static_cast<const char*>(ndarray_access::raw(src));
    auto* to = static_cast<char*>(ndarray_access::raw(dst)) + dst_first * size_of(src.dtype());
    for (size_t i = 0; i < ids.size();) {
      size_t j = i + 1;
      while (j < ids.size() && ids[j] == ids[j - 1] + 1)
        ++j;
      if (j + row_prefetch_distance - 1 < ids.size())
        prefetch_row(from + static_cast<uint64_t>(ids[j + row_prefetch_distance - 1]) * bytes, bytes, false);
      auto* s = from + static_cast<uint64_t>(ids[i]) * bytes;
      if (s != to + i * bytes)
        std::memcpy(to + i * bytes, s, (j - i) * bytes);
      i = j;
    }
    return;
  }
  // Runs of consecutive ids are one copy.
  for (size_t i = 0; i < ids.size();) {
    size_t j = i + 1;
    while (j < ids.size() && ids[j] == ids[j - 1] + 1)
      ++j;
    copy_elements(src, static_cast<uint64_t>(ids[i]) * row_len, dst, dst_first + i * row_len,
                  (j - i) * row_len);
    i = j;
  }
}

void zero_rows(const ndarray& a, const std::vector<int64_t>& ids, uint64_t row_len) {
  if (ids.empty() || row_len == 0)
    return;
  check_rows_fit(a, ids, row_len, "zeroing rows");
  host_view h(a);
  auto bytes = row_len * size_of(a.dtype());
  auto* p = static_cast<char*>(ndarray_access::raw(h.host));
  for (auto r : ids)
    std::memset(p + static_cast<uint64_t>(r) * bytes, 0, bytes);  // 0 bits = 0 in every dtype
  h.write_back();
}

void zero_all(const ndarray& a) {
  auto bytes = a.size() * size_of(a.dtype());
  if (on_gpu(a))
    cuda::zero(ndarray_access::raw(a), a.device().id, bytes);
  else
    std::memset(ndarray_access::raw(a), 0, bytes);  // 0 bits = 0 in every dtype
}

namespace {

// sum_rows_in_order for one element type: float and double add in their
// own type; the others go through double and are stored after each add,
// as scatter_rows adds them.
template <class Add>
void sum_in_order(const std::vector<id_rows>& values, const std::vector<int64_t>& ids,
                  uint64_t len, Add add) {
  struct cursor {  // a value's next id and where its row starts
    const int64_t* next;
    const int64_t* end;
    uint64_t from;
  };
  std::vector<cursor> at;
  for (auto& v : values)
    at.push_back({v.ids->data(), v.ids->data() + v.ids->size(), 0});
  uint64_t to = 0;
  for (auto id : ids) {
    bool first = true;
    for (size_t k = 0; k < at.size(); ++k) {
      auto& c = at[k];
      if (c.next == c.end || *c.next != id)
        continue;
      add(k, c.from, to, first);
      ++c.next;
      c.from += len;
      first = false;
    }
    to += len;
  }
}

template <class T>
void sum_typed(const std::vector<id_rows>& values, const std::vector<int64_t>& ids, uint64_t len,
               T* out) {
  sum_in_order(values, ids, len, [&](size_t k, uint64_t from, uint64_t to, bool first) {
    const T* src = static_cast<const T*>(values[k].rows) + from;
    T* dst = out + to;
    if (first)
      for (uint64_t c = 0; c < len; ++c)
        dst[c] = T(0) + src[c];
    else
      for (uint64_t c = 0; c < len; ++c)
        dst[c] += src[c];
  });
}

}  // namespace

void add_ids(std::vector<int64_t>& ids, const std::vector<int64_t>& more) {
  std::vector<int64_t> merged;
  merged.reserve(ids.size() + more.size());
  std::set_union(ids.begin(), ids.end(), more.begin(), more.end(), std::back_inserter(merged));
  ids = std::move(merged);
}

std::vector<int64_t> union_of_ids(const std::vector<id_rows>& values, std::vector<int64_t> ids) {
  size_t most = 0;
  for (auto& v : values)
    most += v.ids->size();
  ids.clear();
  ids.reserve(most);
  std::vector<size_t> next(values.size(), 0);
  for (;;) {
    int64_t id = -1;  // the smallest id not taken yet
    for (size_t k = 0; k < values.size(); ++k) {
      auto& own = *values[k].ids;
      if (next[k] < own.size() && (id < 0 || own[next[k]] < id))
        id = own[next[k]];
    }
    if (id < 0)
      return ids;
    ids.push_back(id);
    for (size_t k = 0; k < values.size(); ++k) {
      auto& own = *values[k].ids;
      if (next[k] < own.size() && own[next[k]] == id)
        ++next[k];
    }
  }
}

void sum_rows_in_order(const std::vector<id_rows>& values, const std::vector<int64_t>& ids,
                       uint64_t len, dtype t, void* out) {
  if (t == dtype::f32)
    return sum_typed(values, ids, len, static_cast<float*>(out));
  if (t == dtype::f64)
    return sum_typed(values, ids, len, static_cast<double*>(out));
  sum_in_order(values, ids, len, [&](size_t k, uint64_t from, uint64_t to, bool first) {
    for (uint64_t c = 0; c < len; ++c) {
      double v = load_element(values[k].rows, t, from + c);
      store_element(out, t, to + c, (first ? 0.0 : load_element(out, t, to + c)) + v);
    }
  });
}

std::pair<std::vector<int64_t>, ndarray> sum_row_sparse(const std::vector<ndarray>& arrays,
                                                        std::vector<int64_t> storage) {
  // Read without waiting, as above.
  auto ids_of = [](const ndarray& a) -> const std::vector<int64_t>& {
    return ndarray_access::impl(a).row_ids;
  };
  auto rows_of = [](const ndarray& a) { return unmarked_alias(ndarray_access::impl(a).rows); };
  if (arrays.size() == 1) {
    auto& own = ids_of(arrays[0]);
    storage.assign(own.begin(), own.end());
    return {std::move(storage), rows_of(arrays[0])};
  }
  auto& sample = arrays.front();
  auto len = row_length(sample.shape());
  std::vector<host_view> hosts;  // GPU rows through host copies
  hosts.reserve(arrays.size());
  std::vector<id_rows> values;
  for (auto& a : arrays) {
    hosts.emplace_back(rows_of(a));
    auto& host = hosts.back().host;
    same_dtype(host, sample, "sum of row_sparse values");
    if (host.size() < ids_of(a).size() * len)
      throw kvs::error(errc::invalid_argument,
                       "sum of row_sparse values: a value holds fewer rows than its ids name");
    values.push_back({&ids_of(a), ndarray_access::raw(host)});
  }
  auto ids = union_of_ids(values, std::move(storage));
  kvs::shape s = sample.shape();
  s[0] = static_cast<int64_t>(ids.size());
  auto rows = make_uninitialized(s, sample.dtype(), cpu());
  sum_rows_in_order(values, ids, len, sample.dtype(), ndarray_access::raw(rows));
  return {std::move(ids), rows};
}

void replace_rows(const ndarray& sparse, const std::vector<int64_t>& ids, ndarray rows) {
  auto& p = ndarray_access::impl(sparse);
  if (p.stype != storage::row_sparse)
    throw kvs::error(errc::invalid_argument, "replacing rows needs a row_sparse array");
  // Into the ids' own memory: an output pulled into every step needs no
  // new allocation (a big one per pull, which glibc would give back to the
  // kernel when freed and fault in again).
  p.row_ids.assign(ids.begin(), ids.end());
  p.rows = std::move(rows);
}

}  // namespace kvs::detail
