#pragma once
// The key shard's interface. The same handle type serves an in-process shard
// and one in a server process; a key too big for one shard arrives as parts.
#include <cstdint>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "kvs/key.hpp"
#include "messages/array_view.hpp"
#include "messages/reducer_actor.hpp"
#include "messages/updater_actor.hpp"

namespace kvs {

struct part_id {
  kvs::key key;
  uint32_t part = 0;  // index of this part among the key's parts
};

struct part_init {
  part_id id;
  array_view value;  // copied into the shard's own storage
};

struct part_push {
  part_id id;
  int32_t worker = 0;               // the pushing worker's rank
  std::vector<array_view> inputs;   // summed (the worker's devices)
  std::vector<array_view> outputs;  // pushpull: filled once the round is done
};

struct part_pull {
  part_id id;
  int32_t worker = 0;
  std::vector<array_view> outputs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_id& x) {
  return f(caf::meta::type_name("part_id"), x.key, x.part);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_init& x) {
  return f(caf::meta::type_name("part_init"), x.id, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_push& x) {
  return f(caf::meta::type_name("part_push"), x.id, x.worker, x.inputs, x.outputs);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_pull& x) {
  return f(caf::meta::type_name("part_pull"), x.id, x.worker, x.outputs);
}

// init: answered once stored. push: answered when its round completes (and,
// with outputs, once they hold the result). pull: answered once the outputs
// hold the value. updater: every later round uses it (an invalid handle
// clears it: stored = sum). tick: the shard's own deadline check.
using shard_actor =
    caf::typed_actor<caf::replies_to<init_atom, part_init>::with<ok_atom>,
                     caf::replies_to<push_atom, part_push>::with<ok_atom>,
                     caf::replies_to<pull_atom, part_pull>::with<ok_atom>,
                     caf::replies_to<updater_atom, updater_actor>::with<ok_atom>,
                     caf::reacts_to<tick_atom>>;

}  // namespace kvs
