#include "core/shm_arena.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include <pthread.h>
#include <sys/mman.h>

#include "core/log.hpp"
#include "kvs/config.hpp"
#include "kvs/error.hpp"

namespace kvs::detail {

namespace {
shm_arena* the_arena = nullptr;  // set once, before any fork handler runs
void in_forked_child() {
  if (the_arena)
    the_arena->after_fork_in_child();
}
}  // namespace

shm_arena& shm_arena::instance() {
  // Never destroyed: arrays may end after static destructors ran.
  static auto* arena = [] {
    auto* a = new shm_arena;
    the_arena = a;
    pthread_atfork(nullptr, nullptr, &in_forked_child);
    return a;
  }();
  return *arena;
}

// The child is one thread now, and a lock may have been held by a thread
// that is gone: nothing here locks. The shared mapping becomes a private
// copy-on-write one of the same file, so what the child writes into arrays
// it inherited never reaches the parent (as after fork for heap memory).
void shm_arena::after_fork_in_child() {
  if (!on_.load())
    return;  // no arena yet: the child may make its own
  forked_.store(true);
  void* at = mmap(base_.load(), size_.load(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
                  segment_->fd(), 0);
  (void)at;  // on failure it stays shared: nothing can be reported from here
}

std::shared_ptr<shm_segment> shm_arena::enable(uint64_t bytes, uint64_t min_bytes,
                                               std::string& why) {
  if (forked_.load()) {
    why = "a child forked from the process that made the arena";
    return nullptr;
  }
  std::lock_guard<std::mutex> lock{mtx_};
  if (segment_)
    return segment_;
  try {
    auto seg = std::make_shared<shm_segment>(bytes);
    ranges_.emplace(shm_header_bytes, seg->size());
    base_.store(seg->base());
    size_.store(seg->size());
    min_bytes_.store(std::max<uint64_t>(min_bytes, 1));
    segment_ = std::move(seg);
    on_.store(true, std::memory_order_release);
    log::info("kvs: arrays of " + std::to_string(min_bytes) +
              " bytes and more are allocated in shared memory (an arena of " +
              std::to_string(bytes) + " bytes): servers on this host read and write them in place");
    return segment_;
  } catch (const kvs::error& e) {
    why = e.what();
    return nullptr;
  }
}

std::shared_ptr<shm_segment> shm_arena::enable(const config& c, const std::string& speaker) {
  if (c.shm_arena_bytes <= 0)
    return nullptr;
  std::string why;
  auto arena = enable(static_cast<uint64_t>(c.shm_arena_bytes),
                      static_cast<uint64_t>(c.shm_min_bytes), why);
  if (!arena)
    log::warn(speaker + ": no shared memory arena for arrays (" + why +
              "): pushes and pulls copy through the worker's segment or go in messages");
  return arena;
}

void shm_arena::enable_from_environment() {
  const char* role = std::getenv("DMLC_ROLE");
  if (!role || std::string(role) != "worker")
    return;
  config c;
  try {
    c = c.resolved();
  } catch (const kvs::error&) {
    return;  // the store reports the bad setting when it is created
  }
  if (c.transport != "caf")
    enable(c, "kvs");
}

void* shm_arena::take(size_t bytes) {
  if (forked_.load())
    return nullptr;
  if (!on_.load(std::memory_order_acquire)) {
    std::call_once(env_once_, [this] { enable_from_environment(); });
    if (!on_.load(std::memory_order_acquire))
      return nullptr;
  }
  if (bytes < min_bytes_.load())
    return nullptr;
  std::lock_guard<std::mutex> lock{mtx_};
  auto at = ranges_->take(bytes);
  if (!at) {
    if (!full_warned_) {
      full_warned_ = true;
      log::warn("kvs: the shared memory arena has no room for an array of " +
                std::to_string(bytes) + " bytes (" + std::to_string(ranges_->in_use()) + " of " +
                std::to_string(size_.load()) + " bytes in use, " +
                std::to_string(kept_out_bytes_) +
                " kept out after timeouts or lost servers): arrays that do not fit live on the "
                "heap and their pushes and pulls copy; KVS_SHM_ARENA_BYTES sets the size (said "
                "once)");
    }
    return nullptr;
  }
  return base_.load() + *at;
}

bool shm_arena::give_back(void* p) {
  auto* base = base_.load();
  auto* at = static_cast<uint8_t*>(p);
  if (base == nullptr || at < base || at >= base + size_.load())
    return false;
  if (forked_.load())
    return true;  // the parent's range: not this process's to give back
  auto offset = static_cast<uint64_t>(at - base);
  std::lock_guard<std::mutex> lock{mtx_};
  if (kept_out_.count(offset) == 0)
    ranges_->give_back(offset);
  return true;
}

std::optional<uint64_t> shm_arena::offset_of(const void* p, size_t bytes) const {
  auto* base = base_.load();
  auto* at = static_cast<const uint8_t*>(p);
  auto size = size_.load();
  if (base == nullptr || at < base || at >= base + size ||
      bytes > size - static_cast<uint64_t>(at - base))
    return std::nullopt;
  return static_cast<uint64_t>(at - base);
}

uint64_t shm_arena::keep_out(const void* p) {
  auto offset = offset_of(p, 0);
  if (!offset || forked_.load())
    return 0;
  std::lock_guard<std::mutex> lock{mtx_};
  auto holder = ranges_->holder_of(*offset);
  if (!holder || kept_out_.count(holder->first) > 0)
    return 0;
  auto [start, bytes] = *holder;
  kept_out_.emplace(start, bytes);
  kept_out_bytes_ += bytes;
  return bytes;
}

uint64_t shm_arena::kept_out_bytes() const {
  std::lock_guard<std::mutex> lock{mtx_};
  return kept_out_bytes_;
}

}  // namespace kvs::detail
