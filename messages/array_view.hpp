#pragma once
// A flat range of elements of a dense array: how a part of a big key travels
// to its shard. In process the array is a handle (no copy). Across processes
// only the range's bytes travel, in one block; a view that is only a
// destination (carries_data false) sends its size alone. A view with a
// `remote` descriptor sends that instead of bytes: they move over the UCX
// data plane (core/ucx_plane.hpp, actors/shard_transfers.hpp).
#include <cstdint>
#include <string>

#include <caf/deserializer.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>

#include "messages/ndarray_wire.hpp"

namespace kvs {

// How a view's bytes travel on the data plane instead of in the message: a
// tagged UCX message between the worker and the shard (a push: the worker
// sends, the shard receives; a pull: the shard sends the value, the worker
// has its landing array waiting for it).
struct remote_region {
  std::string owner;  // the worker's UCX address; empty: bytes travel in band
  uint64_t tag = 0;   // the message's UCX tag
  uint64_t bytes = 0; // the range's length
  // Set on arrival only (not sent): the pushed range's shape and type, for
  // the array the shard allocates once the claim fits the key.
  kvs::shape dims = {};
  dtype type = dtype::f32;
  bool empty() const { return owner.empty(); }
};

struct array_view {
  ndarray array;
  uint64_t offset = 0;  // first element
  uint64_t count = 0;   // elements
  bool carries_data = true;
  remote_region remote = {};  // set by the worker for big parts to a UCX peer
  // Set on arrival when the range was above the receiver's cap
  // (serialization/receive_limit.hpp): its bytes were skipped, and the
  // request that carries it is answered with this error.
  std::string refused = {};

  static array_view whole(const ndarray& a) { return array_view{a, 0, a.size(), true, {}}; }
  static array_view destination(const ndarray& a, uint64_t offset, uint64_t count) {
    return array_view{a, offset, count, false, {}};
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
