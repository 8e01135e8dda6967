#include "core/buffer_pool.hpp"

#include "gpu/gpu_runtime.hpp"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kvs::detail {

namespace {

constexpr size_t pooled_from = size_t{64} << 10;
constexpr size_t pool_limit = size_t{1} << 30;

// With a GPU present, big host buffers are page-locked (cudaHostAlloc):
// copies to and from GPUs then run at full speed, and the pool pays the
// costly allocation once.
struct pool {
  std::mutex mtx;
  std::unordered_map<size_t, std::vector<void*>> free;  // by rounded size
  std::unordered_set<void*> pinned;
  size_t held = 0;

  void give_back(void* p) {
    if (pinned.erase(p) > 0)
      cuda::pinned_free(p);
    else
      std::free(p);
  }

  ~pool() {
    for (auto& [size, list] : free)
      for (auto* p : list)
        give_back(p);
  }
};

pool& the_pool() {
  static pool p;
  return p;
}

size_t rounded(size_t bytes) { return bytes < 64 ? 64 : (bytes + 63) / 64 * 64; }

}  // namespace

void* acquire_buffer(size_t bytes) {
  auto size = rounded(bytes);
  if (size >= pooled_from) {
    auto& p = the_pool();
    std::lock_guard<std::mutex> guard{p.mtx};
    auto i = p.free.find(size);
    if (i != p.free.end() && !i->second.empty()) {
      void* out = i->second.back();
      i->second.pop_back();
      p.held -= size;
      return out;
    }
    if (void* pinned = cuda::pinned_alloc(size)) {  // page aligned
      p.pinned.insert(pinned);
      return pinned;
    }
  }
  return std::aligned_alloc(64, size);
}

void release_buffer(void* ptr, size_t bytes) {
  if (ptr == nullptr)
    return;
  auto size = rounded(bytes);
  if (size >= pooled_from) {
    auto& p = the_pool();
    std::lock_guard<std::mutex> guard{p.mtx};
    if (p.held + size <= pool_limit) {
      p.free[size].push_back(ptr);
      p.held += size;
      return;
    }
    p.give_back(ptr);
    return;
  }
  std::free(ptr);
}

}  // namespace kvs::detail
