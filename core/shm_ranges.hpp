#pragma once
// Ranges of a worker's shared memory segment (core/shm_segment.hpp) handed to
// parts in flight: first fit over a free list, 64-byte aligned, adjacent free
// ranges merged. Never blocks: a request that does not fit gets nothing, and
// that part travels in CAF's message instead. Used by one actor only.
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

namespace kvs::detail {

class shm_ranges {
public:
  // Hands out [begin, end) of the segment.
  shm_ranges(uint64_t begin, uint64_t end);
  // The offset of a free range of `bytes` (> 0), or nothing when none fits.
  std::optional<uint64_t> take(uint64_t bytes);
  // Gives back a range `take` returned; throws kvs::error invalid_argument
  // for an offset that is not one in use.
  void give_back(uint64_t offset);
  // The range in use that holds byte `at` ({offset, bytes}), or nothing.
  std::optional<std::pair<uint64_t, uint64_t>> holder_of(uint64_t at) const;
  uint64_t in_use() const { return in_use_; }

private:
  std::map<uint64_t, uint64_t> free_;  // offset -> bytes
  std::map<uint64_t, uint64_t> used_;  // offset -> bytes
  uint64_t in_use_ = 0;
};

}  // namespace kvs::detail
