#pragma once
// A key shard: owns a set of keys (or parts of big keys) with their stored
// values, merge buffers and optimizer state; sums pushes per round, runs the
// updater once per round and answers pulls. The same actor serves the local
// store (in process) and the distributed one (in a server process): a
// requester in another process gets values in the answer, one in this
// process gets them written into its arrays.
#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/actor_system.hpp>

#include "actors/reducer_set.hpp"
#include "core/telemetry.hpp"
#include "messages/shard_actor.hpp"

namespace kvs {

struct shard_options {
  int num_workers = 1;  // sync: a round completes when this many workers pushed
  bool sync = true;     // false (dist_async): every push is its own round
  int64_t inline_bound = 16384;  // sum and copy up to this many elements here
  // Lazy updates by the built-in optimizer run here, not in the updater
  // actor, while the row elements (rows times the row's length) of those one
  // message sets off stay within this: ~1-2 ms of a scheduler thread at
  // most (actors/key_round.cpp, run_update).
  int64_t inline_update_bound = int64_t{1} << 20;
  // For reducer and updater, and for a round (from its first push) to
  // complete: then it fails naming the workers it waits for.
  std::chrono::milliseconds request_timeout{30000};
  // A round open this long is reported on stderr (its key, the ranks it
  // waits for), again each time as long again passes; 0: never.
  std::chrono::milliseconds stall_warning{60000};
  // Workers on this host may announce shared memory segments
  // (actors/shard_shm.hpp); false (KVS_TRANSPORT=caf): refused.
  bool shared_memory = false;
  // The node's timeline (core/telemetry.hpp); null: none.
  std::shared_ptr<detail::telemetry> telemetry;
};

shard_actor spawn_key_shard(caf::actor_system& sys, reducer_set reducers, shard_options opts);

}  // namespace kvs
