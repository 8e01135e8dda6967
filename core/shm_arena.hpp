#pragma once
// Host memory of big arrays that a server on this host can read and write in
// place (docs/distributed.md, "Arrays in shared memory"): one sealed memfd
// segment per process (core/shm_segment.hpp), cut into 64-byte aligned
// ranges (core/shm_ranges.hpp) under a lock. A dense host array of at least
// its smallest size takes its memory here once the arena is on; a worker
// store announces the segment to its servers with the same challenge as its
// own segment, and a push or pull of such an array then names the array's
// own range instead of copying through that segment. Process-wide, like
// malloc: several worker stores of one process share it. A range that a
// server may still touch (a request that timed out, a server reported down)
// is kept out: when its array ends it is never handed out again. A child
// forked from a process with an arena sees it copy-on-write (its writes
// never reach the parent) and takes no memory from it.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/shm_ranges.hpp"
#include "core/shm_segment.hpp"
#include "kvs/config.hpp"

namespace kvs::detail {

class shm_arena {
public:
  // The process's arena. Off until a worker store turns it on, or until the
  // first host array of a process whose environment says it is a worker
  // using shared memory (DMLC_ROLE=worker, KVS_TRANSPORT not caf,
  // KVS_SHM_ARENA_BYTES not 0).
  static shm_arena& instance();

  // Turns it on: the first call makes the segment of `bytes` holding arrays
  // of at least `min_bytes`; later calls keep that one. Null, with `why`,
  // when it cannot (memfd refused): arrays then stay on the heap.
  std::shared_ptr<shm_segment> enable(uint64_t bytes, uint64_t min_bytes, std::string& why);
  // The same with config's shm_arena_bytes and shm_min_bytes: null when it
  // is 0, or (with a warning starting with `speaker`) when it cannot be on.
  std::shared_ptr<shm_segment> enable(const config& c, const std::string& speaker);
  // Memory for an array of `bytes`, or null (off, too small, no room).
  void* take(size_t bytes);
  // Gives back what `take` returned (unless kept out); false: `p` is not
  // arena memory.
  bool give_back(void* p);
  // The offset in the segment of [p, p + bytes), when it lies in the arena.
  std::optional<uint64_t> offset_of(const void* p, size_t bytes) const;
  // The range holding `p` is never handed out again (a server may still
  // read or write it). Its bytes; 0 when `p` is not in a range in use.
  uint64_t keep_out(const void* p);
  uint64_t kept_out_bytes() const;
  // In a child just forked (pthread_atfork): an arena that was on is the
  // parent's, mapped copy-on-write from now on; the child takes nothing from
  // it and gives nothing back.
  void after_fork_in_child();
  // Held while a store offers the segment to a server: the server's
  // challenge goes into the one header all stores of the process share.
  std::mutex& offer_lock() { return offer_mtx_; }

private:
  shm_arena() = default;
  void enable_from_environment();

  mutable std::mutex mtx_;
  std::mutex offer_mtx_;
  std::once_flag env_once_;
  std::shared_ptr<shm_segment> segment_;  // guarded by mtx_ until on_
  std::optional<shm_ranges> ranges_;      // guarded by mtx_
  std::map<uint64_t, uint64_t> kept_out_; // offset -> bytes; guarded by mtx_
  uint64_t kept_out_bytes_ = 0;
  bool full_warned_ = false;
  std::atomic<bool> on_{false};
  // In a child forked from this process: the mapping is shared with the
  // parent, so the child takes nothing from it and gives nothing back.
  std::atomic<bool> forked_{false};
  std::atomic<uint8_t*> base_{nullptr};
  std::atomic<uint64_t> size_{0};
  std::atomic<uint64_t> min_bytes_{0};
};

}  // namespace kvs::detail
