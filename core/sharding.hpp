#pragma once
// Where a key lives: MXNet's rule, one function for every mode. Small arrays
// go whole to shard (key * 9973) % shards (in uint64; string keys by FNV-1a
// 64); arrays of at least split_bound elements are cut into one contiguous
// part per shard, part i on shard i, holding
// [llround(n / S * i), llround(n / S * (i + 1))).
#include <cstdint>
#include <vector>

#include "kvs/key.hpp"

namespace kvs::detail {

struct part_range {
  uint32_t shard = 0;
  uint64_t offset = 0;
  uint64_t count = 0;
};

uint32_t shard_of(const key& k, uint32_t shards);

// split_bound 0: never split (the in-process store keeps keys whole, so an
// updater sees the whole array, as in MXNet's local store). max_part > 0
// cuts every part into chunks of at most that many elements (same shard),
// so no message carries more than that. row_len > 0 (keys initialized
// row_sparse): every cut falls between rows of row_len elements, so a row
// never straddles two parts: part i holds rows
// [llround(R / S * i), llround(R / S * (i + 1))) of R rows, and chunks hold
// whole rows.
std::vector<part_range> partition(const key& k, uint64_t elements, uint32_t shards,
                                  uint64_t split_bound, uint64_t max_part = 0,
                                  uint64_t row_len = 0);

// Whether every part holds whole rows of row_len elements (false for
// row_len 0): such parts are kept as rows on their shards.
bool cuts_between_rows(const std::vector<part_range>& parts, uint64_t row_len);

}  // namespace kvs::detail
