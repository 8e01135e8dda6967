#pragma once
// What we store on disk: dense arrays as dtype, shape and raw bytes; keys
// as their kind and value. Saved with cereal, loaded with byte_reader (the
// same layout, every size checked before allocating).
#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "core/array_impl.hpp"
#include "core/checked_size.hpp"
#include "serialization/byte_reader.hpp"
#include "kvs/error.hpp"
#include "kvs/key.hpp"

namespace kvs::detail {

template <class Archive>
void save_array(Archive& ar, const ndarray& a) {
  auto dense = densify(a);
  auto t = static_cast<uint8_t>(dense.dtype());
  std::vector<int64_t> dims = dense.shape();
  ar(t, dims);
  auto bytes = static_cast<uint64_t>(dense.size() * size_of(dense.dtype()));
  ar(bytes);
  ar(cereal::binary_data(ndarray_access::raw(dense), bytes));
}

// Loads what save_array wrote, checking the byte count against the shape
// (overflow-checked) and against the bytes left before allocating.
inline ndarray load_array(byte_reader& in) {
  auto t = in.number<uint8_t>();
  if (t > static_cast<uint8_t>(dtype::u8))
    in.fail("has an array of the unknown dtype code " + std::to_string(t));
  std::vector<int64_t> dims = in.int64s("dimensions");
  auto bytes = in.number<uint64_t>();
  auto type = static_cast<dtype>(t);
  auto want = checked_byte_count(checked_element_count(dims, "an array's shape"), type);
  if (bytes != want)
    in.fail("has an array whose byte count " + std::to_string(bytes) +
            " does not match its shape " + to_string(dims) + " (" + std::to_string(want) + ")");
  if (bytes > in.remaining())
    in.fail("is truncated: an array of " + std::to_string(bytes) + " bytes, " +
            std::to_string(in.remaining()) + " left");
  auto out = make_uninitialized(dims, type);
  in.raw(ndarray_access::raw(out), bytes);
  return out;
}

template <class Archive>
void save_key(Archive& ar, const key& k) {
  bool is_string = k.is_string();
  ar(is_string);
  if (is_string) {
    std::string s = k.as_string();
    ar(s);
  } else {
    int64_t v = k.as_int();
    ar(v);
  }
}

inline key load_key(byte_reader& in) {
  if (in.flag())
    return key(in.text("key characters"));
  return key(in.number<int64_t>());
}

}  // namespace kvs::detail
