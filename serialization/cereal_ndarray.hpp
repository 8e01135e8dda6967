#pragma once
// cereal save/load of what we store on disk: dense arrays as dtype, shape
// and raw bytes; keys as their kind and value.
#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "core/array_impl.hpp"
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

template <class Archive>
ndarray load_array(Archive& ar) {
  uint8_t t = 0;
  std::vector<int64_t> dims;
  uint64_t bytes = 0;
  ar(t, dims, bytes);
  if (t > static_cast<uint8_t>(dtype::u8))
    throw error(errc::corrupt_file, "an array has the unknown dtype code " + std::to_string(t));
  auto type = static_cast<dtype>(t);
  if (bytes != element_count(dims) * size_of(type))
    throw error(errc::corrupt_file, "an array's byte count does not match its shape " +
                                        to_string(dims));
  auto out = make_uninitialized(dims, type);
  ar(cereal::binary_data(ndarray_access::raw(out), bytes));
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

template <class Archive>
key load_key(Archive& ar) {
  bool is_string = false;
  ar(is_string);
  if (is_string) {
    std::string s;
    ar(s);
    return key(s);
  }
  int64_t v = 0;
  ar(v);
  return key(v);
}

}  // namespace kvs::detail
