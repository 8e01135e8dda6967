#pragma once
// A worker's offer of shared memory to its shards (docs/distributed.md, "Two
// planes"), over the actors' channel: the one way a segment becomes known.
// KVS_TRANSPORT=caf: none. auto: shared memory with each shard of this host
// (by its node id) that maps the segment and gets back the challenge it
// wrote there (the proof that this worker owns it), CAF with the others. shm: every
// shard must map it, else invalid_config naming the server and why. One
// info line per shard says which plane it gets and why. Unless
// config.shm_arena_bytes is 0, once a shard has taken the segment it turns
// the process's arena on and offers the arena's segment too, to each shard
// that took the worker's (one that refuses it still takes the worker's).
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "core/shm_segment.hpp"
#include "kvs/config.hpp"
#include "messages/shard_actor.hpp"

namespace kvs::detail {

struct shm_offer {
  std::shared_ptr<shm_segment> segment;  // null: no shard took it
  uint32_t id = 0;
  std::vector<bool> shards;  // per shard: it mapped the segment
  // The process's arena of arrays (core/shm_arena.hpp), offered the same
  // way to the shards that took the segment; null: off, or none took it.
  std::shared_ptr<shm_segment> arena;
  uint32_t arena_id = 0;
  std::vector<bool> arena_shards;
};

// `owner` lives as long as the worker's store (the shards unmap the segment
// when it ends); `who` names the worker in the log.
shm_offer offer_shared_memory(caf::actor_system& sys, const config& cfg,
                              const std::vector<shard_actor>& shards,
                              const std::vector<std::string>& names, const caf::actor& owner,
                              const std::string& who);

}  // namespace kvs::detail
