#pragma once
// The worker's side of shared memory (docs/distributed.md, "Two planes"): a
// big plain part to a shard on this host travels as a range of the worker's
// segment instead of bytes in the message. A push's input is copied into a
// range when the part is sent; a pull names a landing range the shard
// writes its answer into. An array in the process's arena (core/shm_arena.hpp)
// needs neither: its own range is named, read and written in place (the
// operation's marks hold the array until the answer). The ranges of a part go back when its answer
// arrives, or when it was never sent (its shard already down); a part whose
// request failed (a timeout, or a shard reported down after a lost
// connection: either may still read or write) keeps its ranges out of use
// for good.
#include <cstdint>
#include <optional>
#include <vector>

#include "core/sharding.hpp"
#include "messages/shard_actor.hpp"

namespace kvs::detail {

struct worker_state;
struct running_op;

// The ranges one part holds.
struct part_shm {
  std::vector<uint64_t> taken;  // offsets to give back
  shm_range landing;            // empty: the answer comes in the message
  bool landing_in_place = false;  // the landing range is the output's own memory
  std::vector<const void*> in_place;  // arena memory the shard reads or writes in place

  part_shm() = default;
  part_shm(part_shm&&) noexcept = default;
  part_shm& operator=(part_shm&&) noexcept = default;
  // A part that ends with arena memory still named (neither answered nor
  // failed: the store ended while its request was in flight) keeps that
  // memory out of use: the shard may still read or write it, and the arena
  // outlives the store.
  ~part_shm();
};

// Moves the part's big plain values into the segment where its shard mapped
// it (when a range is free: never waits), naming a landing range for its
// answer; adds the bytes placed to `run`'s count.
part_shm place_in_shm(worker_state& st, uint32_t shard, part_request& req, running_op& run);
// The answer to a part with a landing range, if the shard wrote it there:
// copied into the operation's landing arrays; nullopt: the answer is in `r`.
std::optional<failure> take_landed(worker_state& st, const part_shm& ps, const part_range& p,
                                   const part_result& r, running_op& run);
void give_back(worker_state& st, part_shm& ps);
// The part's request failed (a timeout, a shard reported down): the arena
// ranges it named in place are never handed out again (core/shm_arena.hpp).
// The bytes kept out.
uint64_t keep_out(part_shm& ps);
// One warning for what a failure kept out (none for 0 bytes).
void warn_kept_out(uint64_t bytes);

}  // namespace kvs::detail
