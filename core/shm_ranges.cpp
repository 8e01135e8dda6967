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
    add_free(begin, end - begin);
}

void shm_ranges::add_free(uint64_t offset, uint64_t bytes) {
  free_.emplace(offset, bytes);
  free_by_size_.emplace(bytes, offset);
}

void shm_ranges::drop_free(std::map<uint64_t, uint64_t>::iterator i) {
  free_by_size_.erase({i->second, i->first});
  free_.erase(i);
}

std::optional<uint64_t> shm_ranges::take(uint64_t bytes) {
  if (bytes == 0 || bytes > UINT64_MAX - alignment)
    return std::nullopt;
  bytes = (bytes + alignment - 1) / alignment * alignment;
  // The smallest free range that fits (the lowest of equal ones): big free
  // ranges stay whole for big requests.
  auto fit = free_by_size_.lower_bound({bytes, 0});
  if (fit == free_by_size_.end())
    return std::nullopt;
  auto offset = fit->second;
  auto left = fit->first - bytes;
  drop_free(free_.find(offset));
  if (left > 0)
    add_free(offset + bytes, left);
  used_.emplace(offset, bytes);
  in_use_ += bytes;
  return offset;
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
  // Merged with free neighbours, so a freed segment is one range again.
  auto next = free_.lower_bound(offset);
  if (next != free_.end() && offset + bytes == next->first) {
    bytes += next->second;
    drop_free(next);
  }
  auto after = free_.lower_bound(offset);
  if (after != free_.begin()) {
    auto prev = std::prev(after);
    if (prev->first + prev->second == offset) {
      offset = prev->first;
      bytes += prev->second;
      drop_free(prev);
    }
  }
  add_free(offset, bytes);
}

}  // namespace kvs::detail
