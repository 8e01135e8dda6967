#include "core/buffer_pool.hpp"

#include "gpu/gpu_runtime.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kvs::detail {

namespace {

constexpr size_t pooled_from = size_t{64} << 10;
// Free buffers kept, over all sizes; and page-locked bytes allocated at
// once (in use or free): locked pages cannot be swapped or reclaimed, so
// past this cap new buffers are plain memory.
constexpr size_t pool_limit = size_t{1} << 30;
constexpr size_t pinned_limit = size_t{2} << 30;
// Buffers are kept in shards by size, each with its own lock, so threads
// moving different sizes (reducer threads, the middleman, shards) do not
// wait for one another; a size always maps to the same shard.
constexpr size_t shard_count = 16;

std::atomic<size_t> held{0};    // bytes in free lists
std::atomic<size_t> pinned{0};  // page-locked bytes allocated

// With a GPU in use, big host buffers are page-locked (cudaHostAlloc):
// copies to and from GPUs then run at full speed, and the pool pays the
// costly allocation once.
struct shard {
  std::mutex mtx;
  std::unordered_map<size_t, std::vector<void*>> free;  // by rounded size
  std::unordered_set<void*> pinned_here;

  // Frees for good (the caller holds mtx).
  void give_back(void* p, size_t size) {
    if (pinned_here.erase(p) > 0) {
      cuda::pinned_free(p);
      pinned -= size;
    } else {
      std::free(p);
    }
  }
};

shard& shard_of(size_t size) {
  // Never destroyed: a buffer may come back while statics are torn down at
  // exit (an array held by another static, a thread still ending), and the
  // CUDA runtime may be gone by then; the process's end frees the memory.
  static auto* shards = new std::array<shard, shard_count>;
  return (*shards)[std::hash<size_t>{}(size / 64) % shard_count];
}

size_t rounded(size_t bytes) { return bytes < 64 ? 64 : (bytes + 63) / 64 * 64; }

// Reserves room under the pinned cap; false when there is none.
bool reserve_pinned(size_t size) {
  auto now = pinned.load();
  do {
    if (now + size > pinned_limit)
      return false;
  } while (!pinned.compare_exchange_weak(now, now + size));
  return true;
}

}  // namespace

void* acquire_buffer(size_t bytes) {
  auto size = rounded(bytes);
  if (size < pooled_from)
    return std::aligned_alloc(64, size);
  auto& s = shard_of(size);
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    auto i = s.free.find(size);
    if (i != s.free.end() && !i->second.empty()) {
      void* out = i->second.back();
      i->second.pop_back();
      held -= size;
      return out;
    }
  }
  // Allocate outside the lock: cudaHostAlloc and page faults are slow.
  if (cuda::gpu_in_use() && reserve_pinned(size)) {
    if (void* p = cuda::pinned_alloc(size)) {  // page aligned
      std::lock_guard<std::mutex> guard{s.mtx};
      s.pinned_here.insert(p);
      return p;
    }
    pinned -= size;
  }
  return std::aligned_alloc(64, size);
}

void release_buffer(void* ptr, size_t bytes) {
  if (ptr == nullptr)
    return;
  auto size = rounded(bytes);
  if (size < pooled_from) {
    std::free(ptr);
    return;
  }
  auto& s = shard_of(size);
  std::lock_guard<std::mutex> guard{s.mtx};
  if (held.fetch_add(size) + size <= pool_limit) {
    s.free[size].push_back(ptr);
    return;
  }
  held -= size;
  s.give_back(ptr, size);
}

}  // namespace kvs::detail
