#pragma once
// The updater interface: any actor that answers update requests can be
// handed to kvstore::set_updater. The shard that owns a key sends one request
// per completed push round, and waits for the answer before it serves the
// key again, so an updater may change `weight` and `state` in place.
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "ndarray_wire.hpp"
#include "atoms.hpp"
#include "kvs/key.hpp"
#include "kvs/ndarray.hpp"

namespace kvs {

struct update_request {
  kvs::key key;                // the key as the user wrote it
  ndarray grad;                // the summed gradient of the round
  ndarray weight;              // the stored value: update it in place
  std::vector<ndarray> state;  // optimizer state kept beside the key (in place too)
  uint64_t count = 0;          // this key's updates so far, this one included
  bool sparse = false;         // every gradient of the round was row_sparse:
  std::vector<int64_t> rows;   // ...then these are the rows it touched
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_request& x) {
  return f(caf::meta::type_name("update_request"), x.key, x.grad, x.weight, x.state, x.count,
           x.sparse, x.rows);
}

// Answers (update_atom, update_request) with an empty reply when done, or an
// error, which fails the push round of that key.
using updater_actor =
    caf::typed_actor<caf::replies_to<update_atom, update_request>::with<void>>;

}  // namespace kvs
