#pragma once
// A flat range of elements of a dense array: how a part of a big key travels
// to its shard. In process the array is a handle (no copy). Across processes
// only the range's bytes travel, in one block; a view that is only a
// destination (carries_data false) sends its size alone. A view with an
// `shm` range sends that instead of bytes: they lie in the sender's shared
// memory segment (docs/distributed.md, "Two planes"; actors/shard_shm.cpp).
#include <cstdint>
#include <string>

#include <caf/deserializer.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>

#include "messages/ndarray_wire.hpp"

namespace kvs {

// Where a view's bytes lie in the sending worker's shared memory segment: a
// push's input, or the landing range of a pull's answer. bytes 0: the bytes
// travel in the message.
struct shm_range {
  uint32_t segment = 0;  // the segment's id, as its worker announced it
  uint64_t offset = 0;
  uint64_t bytes = 0;
  // Set on arrival only (not sent): what the range holds (a push: its shape).
  kvs::shape dims = {};
  dtype type = dtype::f32;
  bool empty() const { return bytes == 0; }
};

struct array_view {
  ndarray array;
  uint64_t offset = 0;  // first element
  uint64_t count = 0;   // elements
  bool carries_data = true;
  // Set on arrival when the range was above the receiver's cap
  // (serialization/receive_limit.hpp): its bytes were skipped, and the
  // request that carries it is answered with this error.
  std::string refused = {};
  // Set by a worker for a big part to a shard on its host; on arrival the
  // view has no array until the shard resolves the range (never served
  // unresolved).
  shm_range shm = {};

  // The view is all of its array: it travels with the array's own shape
  // (else as a flat range of `count`), in both wire forms.
  bool covers_array() const { return offset == 0 && count == array.size(); }

  static array_view whole(const ndarray& a) { return array_view{a, 0, a.size(), true}; }
  static array_view destination(const ndarray& a, uint64_t offset, uint64_t count) {
    return array_view{a, offset, count, false};
  }
};

caf::error save_view(caf::serializer& sink, const array_view& x);
caf::error load_view(caf::deserializer& source, array_view& x);
// A shared memory range arrived for `x.count` elements of `t`: sets its
// type, and refuses (corrupt_file) a range that does not hold exactly
// their bytes. Every range a message names passes here.
caf::error check_shm_range(array_view& x, dtype t);
// The shape a range arrived with holds exactly its `count` elements (a
// negative or overflowing shape is refused too): corrupt_file, the message
// starting with `what`. Both wire forms of a request check their views here.
caf::error check_dims(const kvs::shape& dims, uint64_t count, const char* what);
// A dtype code this build knows: corrupt_file "<what>: unknown dtype N"
// otherwise. Every decoder of a dtype from another process checks here.
caf::error check_dtype_code(uint8_t t, const char* what);

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
