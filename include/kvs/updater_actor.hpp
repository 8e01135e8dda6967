#pragma once
// The updater interface, the one piece of the store's protocol that is
// public: any actor that answers update requests can be handed to
// kvstore::set_updater. The shard that owns a key sends one request per
// completed push round, and waits for the answer before it serves the key
// again, so an updater may change `weight` and `state` in place.
#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "kvs/key.hpp"
#include "kvs/ndarray.hpp"

namespace kvs {

using update_atom = caf::atom_constant<caf::atom("kvs_update")>;

struct update_request {
  kvs::key key;                // the key as the user wrote it
  ndarray grad;                // the summed gradient of the round
  ndarray weight;              // the stored value: update it in place
  std::vector<ndarray> state;  // optimizer state kept beside the key (in place too)
  uint64_t count = 0;          // this key's updates so far, this one included
  bool sparse = false;         // every gradient of the round was row_sparse:
  std::vector<int64_t> rows;   // ...then these are the rows it touched (empty
                               // when grad is itself row_sparse: its row ids)
};

// How CAF saves, loads and prints a request (defined inside the library, with
// the wire format of ndarray).
caf::error inspect(caf::serializer& sink, update_request& x);
caf::error inspect(caf::deserializer& source, update_request& x);
std::string to_string(const update_request& x);

// Answers (update_atom, update_request) with an empty reply when done, or an
// error, which fails the push round of that key.
using updater_actor =
    caf::typed_actor<caf::replies_to<update_atom, update_request>::with<void>>;

}  // namespace kvs
