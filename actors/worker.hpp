#pragma once
// The worker: one per store handle. Keeps one queue per key (operations on a
// key are sent in call order), dispatches ready operations across keys
// highest priority first with bounded operations and bytes in flight, splits
// big keys into parts, fuses the parts bound for one shard into one message,
// and completes the caller's arrays when the shards answer.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/reducer_set.hpp"
#include "core/shm_segment.hpp"
#include "core/telemetry.hpp"
#include "messages/shard_actor.hpp"
#include "messages/worker_actor.hpp"

namespace kvs {

struct worker_options {
  int32_t rank = 0;
  int max_inflight = 1024;
  int64_t max_inflight_bytes = int64_t{128} << 20;  // one bigger operation may still go alone
  std::chrono::milliseconds request_timeout{30000};
  int64_t inline_bound = 16384;    // answers up to this many elements are copied here
  uint64_t split_bound = 0;        // arrays this big split across shards; 0: keys stay whole
  uint64_t max_part_bytes = 0;     // parts bigger than this are cut in chunks; 0: no limit
  bool one_push_per_round = false; // dist_sync: a key's next push waits for its round
  bool reduce_before_send = false; // shards in other processes: sum a push's arrays here first
  std::vector<std::string> shard_names;  // for errors: "server 1 (127.0.0.1:4242)"
  // Shared memory with shards on this host (actors/worker_shm.hpp): the
  // segment, its id, which shards mapped it, and the smallest part that
  // uses it. shm null: every byte goes in the messages.
  std::shared_ptr<detail::shm_segment> shm;
  uint32_t shm_segment_id = 0;
  std::vector<bool> shm_shards;
  uint64_t shm_min_bytes = uint64_t{4} << 10;
  // The process's arena of arrays (core/shm_arena.hpp), its id, and which
  // shards mapped it: a part of an array in it travels as its own range.
  std::shared_ptr<detail::shm_segment> arena;
  uint32_t arena_id = 0;
  std::vector<bool> arena_shards;
  // Counters and the timeline (core/telemetry.hpp); null: none kept.
  std::shared_ptr<detail::telemetry> telemetry;
};

// `reducers` sum a push's per-device arrays before they leave the process
// (on the first array's device: a GPU for dist_device_sync) and copy answers
// that arrive with values into their outputs.
worker_actor spawn_worker(caf::actor_system& sys, std::vector<shard_actor> shards,
                          reducer_set reducers, worker_options opts);

}  // namespace kvs
