#pragma once
// The worker: one per store handle. Keeps one queue per key (operations on a
// key are sent in call order), dispatches ready operations across keys
// highest priority first with a bounded number in flight, splits big keys
// into parts, and completes the caller's arrays when the shards answer.
#include <chrono>
#include <cstdint>
#include <vector>

#include <caf/actor_system.hpp>

#include "messages/shard_actor.hpp"
#include "messages/worker_actor.hpp"

namespace kvs {

struct worker_options {
  int32_t rank = 0;
  int max_inflight = 64;
  std::chrono::milliseconds request_timeout{30000};
  uint64_t split_bound = 0;  // 0: keys stay whole
};

worker_actor spawn_worker(caf::actor_system& sys, std::vector<shard_actor> shards,
                          worker_options opts);

}  // namespace kvs
