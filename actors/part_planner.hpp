#pragma once
// Part planning, a plain function (no actors): which shard requests one
// operation becomes. A key below the split bound goes whole to its shard; a
// bigger one is cut into one contiguous part per shard, and parts bigger
// than max_part_bytes into chunks (core/sharding.hpp has the rule).
#include <cstdint>
#include <vector>

#include "core/sharding.hpp"
#include "messages/shard_actor.hpp"
#include "messages/worker_actor.hpp"

namespace kvs::detail {

struct part_options {
  uint32_t shards = 1;
  int32_t rank = 0;              // the requesting worker
  uint64_t split_bound = 0;      // 0: keys stay whole
  uint64_t max_part_bytes = 0;   // 0: no limit
};

struct planned_part {
  part_range range;
  part_request request;
};

// The ranges of the key that one operation's requests cover, in order.
std::vector<part_range> plan_ranges(const operation& op, const part_options& opts);

// `send`: the arrays a push sends (its inputs, or their local sum).
// Outputs are the operation's landing arrays (where pulled values arrive).
// A row_sparse push sends each shard only the rows in its range (`send`
// holds the operation's rows, one after another); a pull of rows asks each
// shard only for the rows it holds.
std::vector<planned_part> plan_parts(const operation& op, const std::vector<ndarray>& send,
                                     const part_options& opts);

// Whether every part of the operation's key holds whole rows (always for a
// key split by rows or kept whole; not for a big dense key split by elements).
bool parts_hold_whole_rows(const operation& op, const part_options& opts);

}  // namespace kvs::detail
