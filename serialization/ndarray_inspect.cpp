#include "messages/ndarray_wire.hpp"

#include "messages/array_view.hpp"

#include <limits>

#include <caf/binary_deserializer.hpp>

#include "core/array_impl.hpp"
#include "messages/errors.hpp"
#include "messages/shard_actor.hpp"
#include "serialization/receive_limit.hpp"

namespace kvs {

namespace {
constexpr uint8_t none_tag = 0, dense_tag = 1, sparse_tag = 2;
}

caf::error save_ndarray(caf::serializer& sink, const ndarray& x) {
  if (x.is_none()) {
    uint8_t tag = none_tag;
    return sink(tag);
  }
  x.wait_to_read();
  uint8_t tag = x.storage() == storage::dense ? dense_tag : sparse_tag;
  auto t = static_cast<uint8_t>(x.dtype());
  auto d = x.device();
  uint8_t kind = d.kind;
  int32_t id = d.id;
  auto dims = x.shape();
  if (auto err = sink(tag, t, kind, id, dims))
    return err;
  if (tag == sparse_tag) {
    auto ids = x.row_ids();
    if (auto err = sink(ids))
      return err;
    return save_ndarray(sink, x.rows());
  }
  auto bytes = static_cast<uint64_t>(x.size() * size_of(x.dtype()));
  if (auto err = sink(bytes))
    return err;
  auto host = detail::on_gpu(x) ? x.copy_to(cpu()) : x;  // GPU bytes travel from the host
  return bytes == 0 ? caf::error{} : sink.apply_raw(bytes, detail::ndarray_access::raw(host));
}

namespace {

// `allow_sparse`: false for a row_sparse array's rows, which are dense: a
// message cannot nest sparse headers (each level a recursion) to overflow
// the stack.
caf::error load_ndarray_checked(caf::deserializer& source, ndarray& x, bool allow_sparse = true) {
  uint8_t tag = 0;
  if (auto err = source(tag))
    return err;
  if (tag == none_tag) {
    x = ndarray();
    return {};
  }
  if (tag != dense_tag && tag != sparse_tag)
    return to_caf_error(errc::corrupt_file, "ndarray: unknown storage tag");
  if (tag == sparse_tag && !allow_sparse)
    return to_caf_error(errc::corrupt_file, "ndarray: the rows of a row_sparse array are not dense");
  uint8_t t = 0, kind = 0;
  int32_t id = 0;
  kvs::shape dims;
  if (auto err = source(t, kind, id, dims))
    return err;
  if (auto err = check_dtype_code(t, "ndarray"))
    return err;
  if (id < 0)
    return to_caf_error(errc::corrupt_file, "ndarray: device id " + std::to_string(id) + " is negative");
  try {
    if (tag == sparse_tag) {
      std::vector<int64_t> ids;
      ndarray rows;
      if (auto err = source(ids))
        return err;
      if (auto err = load_ndarray_checked(source, rows, false))
        return err;
      if (rows.is_none())
        return to_caf_error(errc::corrupt_file, "ndarray: a row_sparse array without rows");
      // ndarray::row_sparse checks the ids (in range, sorted, unique) and
      // the rows' shape against the dense shape.
      x = ndarray::row_sparse(dims, std::move(ids), std::move(rows));
      return {};
    }
    uint64_t bytes = 0;
    if (auto err = source(bytes))
      return err;
    auto type = static_cast<dtype>(t);
    auto want = detail::checked_byte_count(detail::checked_element_count(dims, "shape"),
                                           type, "an array");
    if (bytes != want)
      return to_caf_error(errc::corrupt_file, "ndarray: " + std::to_string(bytes) +
                                                  " bytes do not match shape " + to_string(dims) +
                                                  " of " + to_string(type) + " (" +
                                                  std::to_string(want) + " bytes)");
    if (auto err = detail::check_claim(source, bytes, "ndarray: an array"))
      return err;
    // What arrives lives in this process's host memory.
    x = detail::make_uninitialized(dims, type);
    return bytes == 0 ? caf::error{} : source.apply_raw(bytes, detail::ndarray_access::raw(x));
  } catch (const kvs::error& e) {
    return to_caf_error(errc::corrupt_file, std::string("ndarray: ") + e.what());
  }
}

}  // namespace

caf::error load_ndarray(caf::deserializer& source, ndarray& x) {
  return detail::refused(source, load_ndarray_checked(source, x));
}

std::string describe(const ndarray& x) {
  if (x.is_none())
    return "none";
  std::string s = std::string(to_string(x.dtype())) + to_string(x.shape()) + "@" + to_string(x.device());
  return x.storage() == storage::row_sparse ? s + "[row_sparse]" : s;
}

}  // namespace kvs

namespace kvs {

// A view travels as: carries_data, dtype, count, whether its bytes lie in
// shared memory (and the range there), then (with data) its shape and, in
// the message, the range's bytes. It arrives as a view of a fresh array
// holding just that range; with a shared memory range, with no array yet
// (the shard checks the range against the key, then copies it:
// actors/shard_shm.cpp).
caf::error save_view(caf::serializer& sink, const array_view& x) {
  if (x.array.is_none() || x.array.storage() != storage::dense)
    return to_caf_error(errc::invalid_argument, "array_view: only dense arrays travel");
  bool data = x.carries_data;
  auto t = static_cast<uint8_t>(x.array.dtype());
  uint64_t count = x.count;
  bool by_shm = !x.shm.empty();
  if (auto err = sink(data, t, count, by_shm))
    return err;
  if (by_shm) {
    auto r = x.shm;
    if (auto err = sink(r.segment, r.offset, r.bytes))
      return err;
  }
  if (!data)
    return {};
  bool whole = x.covers_array();
  // A whole array's own shape, not a copy (an allocation per part); CAF's
  // serializer takes a mutable reference but only reads it.
  kvs::shape flat;
  if (!whole)
    flat = {static_cast<int64_t>(x.count)};
  auto& dims = whole ? const_cast<kvs::shape&>(x.array.shape()) : flat;
  if (auto err = sink(dims))
    return err;
  if (by_shm)  // the bytes are in the worker's segment
    return {};
  // No wait for the array's readiness here: the worker sends a request only
  // once its inputs are written (its route), and an in-place pushpull's
  // input is also its own pending output.
  auto width = size_of(x.array.dtype());
  if (count == 0)
    return {};
  if (!detail::on_gpu(x.array))
    return sink.apply_raw(count * width,
                          static_cast<char*>(detail::ndarray_access::raw(x.array)) + x.offset * width);
  // GPU bytes travel from the host.
  auto host = detail::make_uninitialized({static_cast<int64_t>(count)}, x.array.dtype());
  detail::copy_elements(x.array, x.offset, host, 0, count);
  return sink.apply_raw(count * width, detail::ndarray_access::raw(host));
}

namespace {

// A shared memory range: it must hold exactly the view's elements.
caf::error load_shm_range(caf::deserializer& source, array_view& x, dtype t) {
  auto& r = x.shm;
  if (auto err = source(r.segment, r.offset, r.bytes))
    return err;
  return check_shm_range(x, t);
}

}  // namespace

caf::error check_shm_range(array_view& x, dtype t) {
  auto& r = x.shm;
  r.type = t;
  try {
    auto bytes = detail::checked_byte_count(x.count, t, "a shared memory range");
    if (r.bytes == 0 || r.bytes != bytes)
      return to_caf_error(errc::corrupt_file,
                          "array_view: a shared memory range of " + std::to_string(r.bytes) +
                              " bytes for " + std::to_string(x.count) + " elements of " +
                              to_string(t));
  } catch (const kvs::error& e) {
    return to_caf_error(errc::corrupt_file, std::string("array_view: ") + e.what());
  }
  return {};
}

caf::error check_dtype_code(uint8_t t, const char* what) {
  if (t > static_cast<uint8_t>(dtype::u8))
    return to_caf_error(errc::corrupt_file, std::string(what) + ": unknown dtype " + std::to_string(t));
  return {};
}

caf::error check_dims(const kvs::shape& dims, uint64_t count, const char* what) {
  try {
    if (detail::checked_element_count(dims, "shape") != count)
      return to_caf_error(errc::corrupt_file, std::string(what) + ": shape " + to_string(dims) +
                                                  " does not hold its " + std::to_string(count) +
                                                  " elements");
  } catch (const kvs::error& e) {
    return to_caf_error(errc::corrupt_file, std::string(what) + ": " + e.what());
  }
  return {};
}

namespace {

caf::error load_view_checked(caf::deserializer& source, array_view& x) {
  bool data = false;
  uint8_t t = 0;
  uint64_t count = 0;
  bool by_shm = false;
  if (auto err = source(data, t, count, by_shm))
    return err;
  if (auto err = check_dtype_code(t, "array_view"))
    return err;
  x.offset = 0;
  x.count = count;
  x.carries_data = data;
  x.refused.clear();
  x.shm = shm_range{};
  if (by_shm) {
    if (auto err = load_shm_range(source, x, static_cast<dtype>(t)))
      return err;
  }
  if (!data) {
    x.array = ndarray();
    return {};
  }
  kvs::shape dims;
  if (auto err = source(dims))
    return err;
  if (auto err = check_dims(dims, count, "array_view"))
    return err;
  uint64_t bytes = 0;
  try {
    bytes = detail::checked_byte_count(count, static_cast<dtype>(t), "a range");
    if (by_shm) {  // no bytes here, nothing allocated: the shard checks the range first
      x.array = ndarray();
      x.shm.dims = std::move(dims);
      return {};
    }
    if (auto err = detail::check_present(source, bytes, "array_view: a range"))
      return err;
    if (auto err = detail::skip_above_cap(source, bytes, "array_view: a range", x.refused))
      return err;
    if (!x.refused.empty()) {  // skipped: the request gets this error
      x.array = ndarray();
      x.count = 0;
      return {};
    }
    x.array = detail::make_uninitialized(dims, static_cast<dtype>(t));
  } catch (const kvs::error& e) {
    return to_caf_error(errc::corrupt_file, std::string("array_view: ") + e.what());
  }
  return count == 0 ? caf::error{} : source.apply_raw(bytes, detail::ndarray_access::raw(x.array));
}

}  // namespace

caf::error load_view(caf::deserializer& source, array_view& x) {
  return detail::refused(source, load_view_checked(source, x));
}

caf::error save_row_ids(caf::serializer& sink, const std::vector<int64_t>& ids) {
  uint64_t n = ids.size();
  if (auto err = sink(n))
    return err;
  if (n == 0)
    return {};
  return sink.apply_raw(n * sizeof(int64_t), const_cast<int64_t*>(ids.data()));
}

caf::error load_row_ids(caf::deserializer& source, std::vector<int64_t>& ids,
                        std::string* refused) {
  uint64_t n = 0;
  if (auto err = source(n))
    return err;
  ids.clear();
  if (n == 0)
    return {};
  if (n > std::numeric_limits<uint64_t>::max() / sizeof(int64_t))
    return detail::refused(source, to_caf_error(errc::corrupt_file, "row ids: a count of " +
                                                                        std::to_string(n)));
  auto bytes = n * sizeof(int64_t);
  if (refused == nullptr) {
    if (auto err = detail::check_claim(source, bytes, "row ids"))
      return detail::refused(source, err);
  } else {  // above the cap: skipped, and the request is answered with why
    if (auto err = detail::check_present(source, bytes, "row ids"))
      return detail::refused(source, err);
    if (auto err = detail::skip_above_cap(source, bytes, "row ids", *refused))
      return detail::refused(source, err);
    if (!refused->empty())
      return {};
  }
  ids.resize(static_cast<size_t>(n));
  return source.apply_raw(bytes, ids.data());
}

}  // namespace kvs
