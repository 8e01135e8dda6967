#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/array_impl.hpp"
#include "core/buffer_pool.hpp"
#include "core/element.hpp"
#include "core/shm_arena.hpp"
#include "gpu/gpu_runtime.hpp"
#include "kvs/error.hpp"

namespace kvs {

using detail::array_impl;
using detail::data_buffer;

device cpu(int id) { return device{device::cpu_kind, id}; }
device gpu(int id) { return device{device::gpu_kind, id}; }

const char* to_string(dtype t) {
  switch (t) {
    case dtype::f16: return "f16";
    case dtype::bf16: return "bf16";
    case dtype::f32: return "f32";
    case dtype::f64: return "f64";
    case dtype::i32: return "i32";
    case dtype::i64: return "i64";
    case dtype::u8: return "u8";
  }
  return "?";
}

size_t size_of(dtype t) {
  switch (t) {
    case dtype::f16:
    case dtype::bf16: return 2;
    case dtype::f32:
    case dtype::i32: return 4;
    case dtype::f64:
    case dtype::i64: return 8;
    case dtype::u8: return 1;
  }
  return 0;
}

std::string to_string(device d) {
  return std::string(d.kind == device::cpu_kind ? "cpu(" : "gpu(") + std::to_string(d.id) + ")";
}

std::string to_string(const shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? "," : "") + std::to_string(s[i]);
  return out + ")";
}

namespace detail {

data_buffer::data_buffer(kvs::device dev, size_t bytes, bool zeroed) : dev_(dev), bytes_(bytes) {
  if (dev.kind == device::gpu_kind) {
    ptr_ = cuda::device_alloc(dev.id, bytes);
    if (zeroed)
      cuda::zero(ptr_, dev.id, bytes);
    return;
  }
  size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  // A big array lives in the shared memory arena when it is on, so servers
  // on this host read and write it in place (core/shm_arena.hpp); not once
  // the process uses a GPU: host arrays then come page-locked from the pool,
  // for full-speed copies to and from the GPUs.
  if (!cuda::gpu_in_use())
    ptr_ = shm_arena::instance().take(bytes);
  if (ptr_ == nullptr)
    ptr_ = acquire_buffer(bytes);
  if (ptr_ == nullptr)
    throw kvs::error(errc::invalid_argument,
                     "cannot allocate " + std::to_string(bytes) + " bytes for an ndarray");
  if (zeroed)
    std::memset(ptr_, 0, rounded);
}

data_buffer::data_buffer(std::shared_ptr<data_buffer> owner)
    : dev_(owner->dev_), ptr_(owner->ptr_), bytes_(owner->bytes_), owner_(std::move(owner)) {}

data_buffer::data_buffer(void* memory, size_t bytes, std::shared_ptr<const void> keep)
    : dev_(cpu()), ptr_(memory), bytes_(bytes), keep_(std::move(keep)) {}

data_buffer::~data_buffer() {
  if (owner_ || keep_)
    return;
  if (dev_.kind == device::gpu_kind)
    cuda::device_free(dev_.id, ptr_);
  else if (!shm_arena::instance().give_back(ptr_))
    release_buffer(ptr_, bytes_);
}

sync_var& ndarray_access::var(const ndarray& x) {
  auto& p = *x.impl_;
  return p.stype == storage::dense ? p.buf->var() : *p.marks;
}

ndarray unmarked_alias(const ndarray& x) {
  auto& p = ndarray_access::impl(x);
  if (p.stype != storage::dense || !p.buf)
    return x;
  auto alias = std::make_shared<array_impl>(p);
  alias->buf = std::make_shared<data_buffer>(p.buf);
  return ndarray_access::make(std::move(alias));
}

size_t element_count(const kvs::shape& s) { return checked_element_count(s); }

void cuda_or_memcpy(void* dst, device dd, const void* src, device sd, size_t bytes) {
  if (dd.kind == device::cpu_kind && sd.kind == device::cpu_kind)
    std::memcpy(dst, src, bytes);
  else
    cuda::copy(dst, dd, src, sd, bytes);
}

void copy_elements(const ndarray& src, uint64_t src_offset, const ndarray& dst,
                   uint64_t dst_offset, uint64_t count) {
  if (count == 0)
    return;
  auto width = size_of(src.dtype());
  auto* from = static_cast<const char*>(ndarray_access::raw(src)) + src_offset * width;
  auto* to = static_cast<char*>(ndarray_access::raw(dst)) + dst_offset * width;
  if (from != to)
    cuda_or_memcpy(to, dst.device(), from, src.device(), count * width);
}

namespace {

void check_device(device d) {
  if (d.id < 0)
    throw kvs::error(errc::invalid_argument, "device " + to_string(d) + " has a negative id");
  if (d.kind == device::gpu_kind)
    cuda::require_device(d.id, "an array on " + to_string(d));
}

std::shared_ptr<array_impl> make_dense(const shape& s, dtype t, device d, bool zeroed) {
  check_device(d);
  auto p = std::make_shared<array_impl>();
  p->dims = s;
  p->type = t;
  p->dev = d;
  p->elements = checked_element_count(s);
  auto bytes = checked_array_bytes(s, p->elements, t);
  p->buf = std::make_shared<data_buffer>(d, bytes, zeroed);
  return p;
}

const array_impl& checked(const std::shared_ptr<array_impl>& p, const char* what) {
  if (!p)
    throw kvs::error(errc::invalid_argument, std::string(what) + " on a none ndarray");
  return *p;
}

}  // namespace

ndarray make_uninitialized(const kvs::shape& s, kvs::dtype t, kvs::device d) {
  return ndarray_access::make(make_dense(s, t, d, false));
}

ndarray borrowed_array(kvs::shape s, kvs::dtype t, void* memory,
                       std::shared_ptr<const void> keep) {
  auto p = std::make_shared<array_impl>();
  p->elements = checked_element_count(s);
  auto bytes = checked_array_bytes(s, p->elements, t);
  p->dims = std::move(s);
  p->type = t;
  p->dev = cpu();
  p->buf = std::make_shared<data_buffer>(memory, bytes, std::move(keep));
  return ndarray_access::make(std::move(p));
}

bool is_borrowed(const ndarray& x) {
  auto& p = ndarray_access::impl(x);
  return p.buf && p.buf->borrowed();
}

ndarray densify(const ndarray& x) {
  auto& p = ndarray_access::impl(x);
  if (p.stype == storage::dense)
    return x;
  x.wait_to_read();
  if (on_gpu(p.rows)) {  // densify on the host, then move to the rows' GPU
    auto host = ndarray::row_sparse(p.dims, p.row_ids, p.rows.copy_to(cpu()));
    return densify(host).copy_to(p.dev);
  }
  auto out = ndarray::zeros(p.dims, p.type, p.dev);
  size_t row_elems = p.dims.empty() || p.dims[0] == 0 ? 0 : p.elements / p.dims[0];
  size_t row_bytes = row_elems * size_of(p.type);
  auto* dst = static_cast<char*>(ndarray_access::raw(out));
  auto* src = static_cast<const char*>(ndarray_access::raw(p.rows));
  for (size_t i = 0; i < p.row_ids.size(); ++i)
    std::memcpy(dst + p.row_ids[i] * row_bytes, src + i * row_bytes, row_bytes);
  return out;
}

}  // namespace detail

ndarray::ndarray() = default;
ndarray::ndarray(std::shared_ptr<array_impl> impl) : impl_(std::move(impl)) {}

ndarray ndarray::zeros(kvs::shape s, kvs::dtype t, kvs::device d) {
  return ndarray(detail::make_dense(s, t, d, true));
}

ndarray ndarray::full(kvs::shape s, double value, kvs::dtype t, kvs::device d) {
  if (d.kind == device::gpu_kind) {  // filled on the host, then copied over
    detail::check_device(d);
    return full(std::move(s), value, t, cpu()).copy_to(d);
  }
  auto p = detail::make_dense(s, t, d, false);
  void* base = p->buf->data();
  if (t == dtype::f32) {
    std::fill_n(static_cast<float*>(base), p->elements, static_cast<float>(value));
  } else {
    for (size_t i = 0; i < p->elements; ++i)
      detail::store_element(base, t, i, value);
  }
  return ndarray(std::move(p));
}

ndarray ndarray::from_elements(const void* values, size_t count, kvs::dtype t, kvs::shape s,
                               kvs::device d) {
  auto n = detail::element_count(s);
  if (n != count)
    throw kvs::error(errc::shape_mismatch, "from_vector: shape " + to_string(s) + " holds " +
                                               std::to_string(n) + " elements but " +
                                               std::to_string(count) + " values were given");
  auto p = detail::make_dense(s, t, d, false);
  if (n > 0)
    detail::cuda_or_memcpy(p->buf->data(), d, values, cpu(), n * size_of(t));
  return ndarray(std::move(p));
}

ndarray ndarray::row_sparse(kvs::shape dense_shape, std::vector<int64_t> row_ids, ndarray rows) {
  if (rows.is_none())
    throw kvs::error(errc::invalid_argument, "row_sparse: rows is a none ndarray");
  if (rows.storage() != storage::dense)
    throw kvs::error(errc::invalid_argument, "row_sparse: rows must be a dense ndarray");
  if (dense_shape.empty())
    throw kvs::error(errc::shape_mismatch, "row_sparse: the dense shape () has no rows");
  auto elements = detail::element_count(dense_shape);
  kvs::shape want = dense_shape;
  want[0] = static_cast<int64_t>(row_ids.size());
  if (rows.shape() != want)
    throw kvs::error(errc::shape_mismatch, "row_sparse: rows has shape " + to_string(rows.shape()) +
                                               " but " + std::to_string(row_ids.size()) +
                                               " row ids of dense shape " + to_string(dense_shape) +
                                               " need " + to_string(want));
  for (size_t i = 0; i < row_ids.size(); ++i) {
    if (row_ids[i] < 0 || row_ids[i] >= dense_shape[0])
      throw kvs::error(errc::invalid_argument, "row_sparse: row id " + std::to_string(row_ids[i]) +
                                                   " is outside [0, " +
                                                   std::to_string(dense_shape[0]) + ")");
    if (i > 0 && row_ids[i] <= row_ids[i - 1])
      throw kvs::error(errc::invalid_argument,
                       "row_sparse: row ids must be sorted and unique, but " +
                           std::to_string(row_ids[i]) + " follows " + std::to_string(row_ids[i - 1]));
  }
  auto p = std::make_shared<array_impl>();
  p->dims = std::move(dense_shape);
  p->type = rows.dtype();
  p->dev = rows.device();
  p->stype = storage::row_sparse;
  p->elements = elements;
  p->row_ids = std::move(row_ids);
  p->rows = std::move(rows);
  p->marks = std::make_shared<detail::sync_var>();
  return ndarray(std::move(p));
}

bool ndarray::is_none() const { return impl_ == nullptr; }

const kvs::shape& ndarray::shape() const {
  static const kvs::shape empty;
  return impl_ ? impl_->dims : empty;
}

kvs::dtype ndarray::dtype() const { return detail::checked(impl_, "dtype()").type; }
kvs::device ndarray::device() const { return detail::checked(impl_, "device()").dev; }
kvs::storage ndarray::storage() const { return detail::checked(impl_, "storage()").stype; }
size_t ndarray::size() const { return impl_ ? impl_->elements : 0; }

std::vector<int64_t> ndarray::row_ids() const {
  auto& p = detail::checked(impl_, "row_ids()");
  if (p.stype != storage::row_sparse)
    throw kvs::error(errc::invalid_argument, "row_ids() needs a row_sparse ndarray, this one is dense");
  wait_to_read();  // a row_sparse_pull replaces them
  return p.row_ids;
}

ndarray ndarray::rows() const {
  auto& p = detail::checked(impl_, "rows()");
  if (p.stype != storage::row_sparse)
    throw kvs::error(errc::invalid_argument, "rows() needs a row_sparse ndarray, this one is dense");
  wait_to_read();  // a row_sparse_pull replaces them
  return p.rows;
}

void ndarray::wait_to_read() const {
  detail::checked(impl_, "wait_to_read()");
  detail::ndarray_access::var(*this).wait_readable("an ndarray");
}

void ndarray::copy_elements(void* out, kvs::dtype as) const {
  detail::checked(impl_, "to_vector()");
  wait_to_read();
  auto dense = detail::densify(*this);
  if (detail::on_gpu(dense))
    dense = dense.copy_to(cpu());
  const void* base = detail::ndarray_access::raw(dense);
  size_t n = impl_->elements;
  if (impl_->type == as) {
    if (n > 0)
      std::memcpy(out, base, n * size_of(as));
  } else {
    for (size_t i = 0; i < n; ++i)
      detail::store_element(out, as, i, detail::load_element(base, impl_->type, i));
  }
}

ndarray ndarray::copy_to(kvs::device d) const {
  auto& p = detail::checked(impl_, "copy_to()");
  wait_to_read();
  if (p.stype == storage::row_sparse)
    return row_sparse(p.dims, p.row_ids, p.rows.copy_to(d));
  ndarray out(detail::make_dense(p.dims, p.type, d, false));
  detail::copy_elements(*this, 0, out, 0, p.elements);
  return out;
}

void* ndarray::raw_data(kvs::dtype expected, bool for_writing) const {
  auto& p = detail::checked(impl_, "data()");
  if (p.stype != storage::dense)
    throw kvs::error(errc::invalid_argument, "data() needs a dense ndarray, this one is row_sparse");
  if (p.type != expected)
    throw kvs::error(errc::dtype_mismatch, std::string("data<") + to_string(expected) +
                                               ">() on an ndarray of dtype " + to_string(p.type));
  if (p.dev.kind == device::gpu_kind)
    throw kvs::error(errc::invalid_argument, "data() needs a CPU array, this one is on " +
                                                 to_string(p.dev) +
                                                 "; use to_vector or copy_to(cpu())");
  if (for_writing)
    p.buf->var().wait_writable("an ndarray");
  else
    p.buf->var().wait_readable("an ndarray");
  return p.buf->data();
}

bool ndarray::same_storage(const ndarray& other) const {
  if (!impl_ || !other.impl_)
    return false;
  return impl_ == other.impl_ || (impl_->buf && impl_->buf == other.impl_->buf);
}

}  // namespace kvs
