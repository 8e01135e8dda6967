#pragma once
// A flat range of elements of a dense array: how a part of a big key travels
// to its shard. In process the array is a handle (no copy).
#include <cstdint>

#include <caf/meta/type_name.hpp>

#include "serialization/ndarray_inspect.hpp"

namespace kvs {

struct array_view {
  ndarray array;
  uint64_t offset = 0;  // first element
  uint64_t count = 0;   // elements

  static array_view whole(const ndarray& a) { return array_view{a, 0, a.size()}; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, array_view& x) {
  return f(caf::meta::type_name("array_view"), x.array, x.offset, x.count);
}

}  // namespace kvs
