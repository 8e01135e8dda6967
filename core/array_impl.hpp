#pragma once
// What an ndarray handle points to, and the store's access to it.
#include <chrono>
#include <cstddef>
#include <algorithm>
#include <memory>
#include <vector>

#include "core/checked_size.hpp"
#include "core/sync_var.hpp"
#include "kvs/ndarray.hpp"

namespace kvs::detail {

// Memory on a device (64-byte aligned host memory, or GPU memory) and the
// readiness of what it holds.
class data_buffer {
public:
  data_buffer(kvs::device dev, size_t bytes, bool zeroed);
  // The memory of `owner`, with a readiness of its own (see unmarked_alias).
  explicit data_buffer(std::shared_ptr<data_buffer> owner);
  // Host memory that is not ours (a worker's shared memory segment, mapped):
  // `keep` holds it mapped while this buffer lives; it is never freed here.
  data_buffer(void* memory, size_t bytes, std::shared_ptr<const void> keep);
  ~data_buffer();
  data_buffer(const data_buffer&) = delete;
  data_buffer& operator=(const data_buffer&) = delete;
  void* data() { return ptr_; }
  size_t bytes() const { return bytes_; }
  kvs::device where() const { return dev_; }
  sync_var& var() { return var_; }
  // Borrowed memory (its own or its owner's): another process may rewrite it
  // once the request that lent it is answered.
  bool borrowed() const { return keep_ || (owner_ && owner_->borrowed()); }

private:
  kvs::device dev_;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  sync_var var_;
  std::shared_ptr<data_buffer> owner_;  // set: the memory is the owner's
  std::shared_ptr<const void> keep_;    // set: borrowed memory
};

struct array_impl {
  kvs::shape dims;
  kvs::dtype type = dtype::f32;
  kvs::device dev = cpu();
  kvs::storage stype = storage::dense;
  size_t elements = 0;                // of the dense shape
  std::shared_ptr<data_buffer> buf;   // dense values
  std::vector<int64_t> row_ids;       // row_sparse: the stored rows
  ndarray rows;                       // row_sparse: their values
  // row_sparse: the array's readiness. Its own, not its rows buffer's, since
  // row_sparse_pull replaces the rows (core/row_ops.hpp).
  std::shared_ptr<sync_var> marks;
};

struct ndarray_access {
  static array_impl& impl(const ndarray& x) { return *x.impl_; }
  static ndarray make(std::shared_ptr<array_impl> p) { return ndarray(std::move(p)); }
  // The readiness a store operation marks: the dense buffer, or a
  // row_sparse array's own marks.
  static sync_var& var(const ndarray& x);
  // Raw bytes of a dense array, without waiting (the store's side).
  static void* raw(const ndarray& x) { return x.impl_->buf->data(); }
  // How many handles share this array's storage.
  static long use_count(const ndarray& x) {
    return std::max(x.impl_.use_count(), x.impl_->buf ? x.impl_->buf.use_count() : 0L);
  }
};

// What identifies an array's storage: handles with the same id share it
// (ndarray::same_storage).
inline const void* storage_id(const ndarray& x) {
  auto& p = ndarray_access::impl(x);
  return p.buf ? static_cast<const void*>(p.buf.get()) : static_cast<const void*>(&p);
}

// The same dense memory under a handle whose readiness marks are its own:
// what the store hands to code that reads a caller's array for an operation
// already ordered (an updater reading the pushed gradient), so it does not
// wait for marks of later operations on that array.
ndarray unmarked_alias(const ndarray& x);

// Elements of a shape: checked_element_count (core/checked_size.hpp), which
// throws invalid_argument on a negative dimension or an overflow.
size_t element_count(const kvs::shape& s);
// A dense array with the values of any array (row_sparse densified), waiting
// for pending writes first.
ndarray densify(const ndarray& x);

}  // namespace kvs::detail

namespace kvs::detail {
// A dense array whose contents are left as they are (the caller fills it).
ndarray make_uninitialized(const kvs::shape& s, kvs::dtype t, kvs::device d = cpu());
// A dense host array over `memory` (at least the shape's bytes), which `keep`
// holds valid while any handle to the array lives.
ndarray borrowed_array(kvs::shape s, kvs::dtype t, void* memory,
                       std::shared_ptr<const void> keep);
// A dense array over borrowed memory (borrowed_array, or an alias of one):
// it must not outlive the request that lent it.
bool is_borrowed(const ndarray& x);
// Copies bytes between any two devices (memcpy between host buffers).
void cuda_or_memcpy(void* dst, kvs::device dd, const void* src, kvs::device sd, size_t bytes);
// Copies `count` elements of `src`, from element `src_offset`, into `dst` from
// element `dst_offset`, whatever devices they are on: the one copy of a range
// (a view) of one array into another. Both dense, of one dtype, the ranges
// inside them (callers check); nothing happens when the two ranges are the
// same memory. Does not wait for pending operations.
void copy_elements(const ndarray& src, uint64_t src_offset, const ndarray& dst,
                   uint64_t dst_offset, uint64_t count);
inline bool on_gpu(const ndarray& a) {
  return !a.is_none() && a.device().kind == kvs::device::gpu_kind;
}
}  // namespace kvs::detail

namespace kvs::detail {
// Marks an array as read or written by a store operation (see sync_var).
inline void ndarray_access_begin_read(const ndarray& a, std::chrono::milliseconds limit) {
  ndarray_access::var(a).begin_read(limit);
}
inline void ndarray_access_end_read(const ndarray& a) { ndarray_access::var(a).end_read(); }
// The rows buffer of a row_sparse input, to be marked as read along with it:
// the store reads it in place (a shard sums it, an updater takes it as the
// gradient), and a caller holding it (rows(), or the dense array it was
// made from) writes through its own handle, whose marks are its own. None
// when the input is dense, or while a write into it is pending: that write
// (a row_sparse_pull) replaces the buffer on the worker's thread, and the
// caller cannot reach the new one before it ends (rows() waits).
inline ndarray rows_to_mark(const ndarray& a) {
  auto& p = ndarray_access::impl(a);
  if (p.stype != kvs::storage::row_sparse || ndarray_access::var(a).writing())
    return ndarray();
  return p.rows;
}
inline void ndarray_access_begin_write(const ndarray& a, std::chrono::milliseconds limit) {
  ndarray_access::var(a).begin_write(limit);
}
inline void ndarray_access_end_write(const ndarray& a, const std::optional<kvs::error>& f) {
  ndarray_access::var(a).end_write(f);
}
}  // namespace kvs::detail
