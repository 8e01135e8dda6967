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
  bool sparse = false;              // all inputs were row_sparse, touching...
  std::vector<int64_t> rows;        // ...these rows (whole keys only)
};

// How the shard runs updates: the updater, and the state it keeps per key
// for it (zeros of the weight's shape; fp32 when multi_precision, which also
// keeps an fp32 master copy of 16-bit weights as the last state array).
struct updater_setting {
  updater_actor actor;  // invalid: no updater (stored = sum)
  uint32_t state_arrays = 0;
  bool multi_precision = false;
};

// One key part's optimizer state, as saved and loaded.
struct key_state {
  kvs::key key;
  uint32_t part = 0;
  uint64_t count = 0;  // updates applied to this key
  std::vector<ndarray> arrays;
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
  return f(caf::meta::type_name("part_push"), x.id, x.worker, x.inputs, x.outputs, x.sparse,
           x.rows);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, updater_setting& x) {
  return f(caf::meta::type_name("updater_setting"), x.actor, x.state_arrays, x.multi_precision);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_state& x) {
  return f(caf::meta::type_name("key_state"), x.key, x.part, x.count, x.arrays);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_pull& x) {
  return f(caf::meta::type_name("part_pull"), x.id, x.worker, x.outputs);
}

// init: answered once stored. push: answered when its round completes (and,
// with outputs, once they hold the result). pull: answered once the outputs
// hold the value. updater: every later round uses it (an invalid handle
// clears it: stored = sum); a new updater starts from empty state.
// save: a copy of every key's optimizer state. load: replaces the state of
// the listed keys this shard owns (others start over); with the flag set,
// their update counts too (else counts stay). tick: the shard's
// own deadline check.
using shard_actor =
    caf::typed_actor<caf::replies_to<init_atom, part_init>::with<ok_atom>,
                     caf::replies_to<push_atom, part_push>::with<ok_atom>,
                     caf::replies_to<pull_atom, part_pull>::with<ok_atom>,
                     caf::replies_to<updater_atom, updater_setting>::with<ok_atom>,
                     caf::replies_to<save_atom>::with<std::vector<key_state>>,
                     caf::replies_to<load_atom, std::vector<key_state>, bool>::with<ok_atom>,
                     caf::reacts_to<tick_atom>>;

}  // namespace kvs
