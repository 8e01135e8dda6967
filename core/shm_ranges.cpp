#include "core/shm_ranges.hpp"

#include <string>

#include "core/shm_segment.hpp"
#include "kvs/error.hpp"

namespace kvs::detail {

namespace {
constexpr uint64_t alignment = shm_range_alignment;
}

shm_ranges::shm_ranges(uint64_t begin, uint64_t end) {
  begin = (begin + alignment - 1) / alignment * alignment;
  if (end > begin)
    free_.emplace(begin, end - begin);
}

std::optional<uint64_t> shm_ranges::take(uint64_t bytes) {
  if (bytes == 0 || bytes > UINT64_MAX - alignment)
    return std::nullopt;
  bytes = (bytes + alignment - 1) / alignment * alignment;
  for (auto i = free_.begin(); i != free_.end(); ++i) {
    if (i->second < bytes)
      continue;
    auto offset = i->first;
    auto left = i->second - bytes;
    free_.erase(i);
    if (left > 0)
      free_.emplace(offset + bytes, left);
    used_.emplace(offset, bytes);
    in_use_ += bytes;
    return offset;
  }
  return std::nullopt;
}

std::optional<std::pair<uint64_t, uint64_t>> shm_ranges::holder_of(uint64_t at) const {
  auto u = used_.upper_bound(at);
  if (u == used_.begin())
    return std::nullopt;
  --u;
  if (at - u->first >= u->second)
    return std::nullopt;
  return *u;
}

void shm_ranges::give_back(uint64_t offset) {
  auto u = used_.find(offset);
  if (u == used_.end())
    throw kvs::error(errc::invalid_argument,
                     "shared memory range at " + std::to_string(offset) + " is not in use");
  auto bytes = u->second;
  used_.erase(u);
  in_use_ -= bytes;
  auto [i, inserted] = free_.emplace(offset, bytes);
  (void)inserted;
  auto next = std::next(i);
  if (next != free_.end() && i->first + i->second == next->first) {
    i->second += next->second;
    free_.erase(next);
  }
  if (i != free_.begin()) {
    auto prev = std::prev(i);
    if (prev->first + prev->second == i->first) {
      prev->second += i->second;
      free_.erase(i);
    }
  }
}

}  // namespace kvs::detail
