#pragma once
// Ranges of a shared memory segment (core/shm_segment.hpp) handed to parts in
// flight or to arrays (core/shm_arena.hpp): best fit, found through an index
// by size in O(log n) (thousands of 4 KiB parts or arrays may be live at
// once), 64-byte aligned, adjacent free ranges merged. Never blocks: a
// request that does not fit gets nothing (the part travels in CAF's message,
// the array lives on the heap). Not thread-safe: its owner serializes.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
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
  void add_free(uint64_t offset, uint64_t bytes);
  void drop_free(std::map<uint64_t, uint64_t>::iterator i);

  std::map<uint64_t, uint64_t> free_;  // offset -> bytes
  std::set<std::pair<uint64_t, uint64_t>> free_by_size_;  // {bytes, offset} of free_
  std::map<uint64_t, uint64_t> used_;  // offset -> bytes
  uint64_t in_use_ = 0;
};

}  // namespace kvs::detail
