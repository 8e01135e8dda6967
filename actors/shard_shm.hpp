#pragma once
// The shard's side of shared memory (docs/distributed.md, "Two planes"): the
// segments workers on this host announced, per node, each bound only after
// its owner echoed the challenge written into it. Only requests from a
// segment's own node may name it; it is unmapped when its owner ends.
#include <cstdint>
#include <map>
#include <memory>

#include <caf/actor.hpp>
#include <caf/node_id.hpp>

#include "core/shm_segment.hpp"

namespace kvs::detail {

// A segment mapped and challenged, not yet bound: its owner has not echoed
// the challenge (actors/shard_shm.cpp).
struct shm_pending {
  std::shared_ptr<shm_mapping> mapping;
  shm_nonce challenge;
  caf::actor owner;
};

struct shm_peer {
  caf::actor owner;  // watched: its end unmaps the segments
  std::map<uint32_t, std::shared_ptr<shm_mapping>> segments;
  std::map<uint32_t, shm_pending> pending;  // one echo each, right or wrong
};

struct shard_shm {
  bool enabled = false;  // this server takes shared memory (KVS_TRANSPORT auto or shm)
  std::map<caf::node_id, shm_peer> peers;
};

// A node may map this many segments at most, bound or waiting for their
// echo (a worker announces one).
constexpr size_t max_shm_segments_per_peer = 4;

}  // namespace kvs::detail
