#pragma once
// A flat range of elements of a dense array: how a part of a big key travels
// to its shard. In process the array is a handle (no copy). Across processes
// only the range's bytes travel, in one block; a view that is only a
// destination (carries_data false) sends its size alone.
#include <cstdint>
#include <string>

#include <caf/deserializer.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>

#include "messages/ndarray_wire.hpp"

namespace kvs {

struct array_view {
  ndarray array;
  uint64_t offset = 0;  // first element
  uint64_t count = 0;   // elements
  bool carries_data = true;
  // Set on arrival when the range was above the receiver's cap
  // (serialization/receive_limit.hpp): its bytes were skipped, and the
  // request that carries it is answered with this error.
  std::string refused = {};

  static array_view whole(const ndarray& a) { return array_view{a, 0, a.size(), true}; }
  static array_view destination(const ndarray& a, uint64_t offset, uint64_t count) {
    return array_view{a, offset, count, false};
  }
};

caf::error save_view(caf::serializer& sink, const array_view& x);
caf::error load_view(caf::deserializer& source, array_view& x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, array_view& x) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    return save_view(f, x);
  } else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value) {
    return load_view(f, x);
  } else {
    return f(caf::meta::type_name("array_view"), x.array, x.offset, x.count);
  }
}

}  // namespace kvs
