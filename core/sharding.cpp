#include "core/sharding.hpp"

#include <algorithm>
#include <cmath>

namespace kvs::detail {

uint32_t shard_of(const key& k, uint32_t shards) {
  if (k.is_int())
    return static_cast<uint32_t>((static_cast<uint64_t>(k.as_int()) * 9973ull) % shards);
  return static_cast<uint32_t>(k.stable_hash() % shards);
}

namespace {
std::vector<part_range> server_parts(const key& k, uint64_t elements, uint32_t shards,
                                     uint64_t split_bound, uint64_t row_len) {
  if (split_bound == 0 || shards <= 1 || elements < split_bound)
    return {part_range{shard_of(k, shards), 0, elements}};
  uint64_t unit = row_len == 0 ? 1 : row_len;  // cut between units
  std::vector<part_range> parts;
  parts.reserve(shards);
  double per = static_cast<double>(elements / unit) / shards;
  for (uint32_t i = 0; i < shards; ++i) {
    auto b = static_cast<uint64_t>(std::llround(per * i)) * unit;
    auto e = static_cast<uint64_t>(std::llround(per * (i + 1))) * unit;
    parts.push_back(part_range{i, b, e - b});
  }
  return parts;
}
}  // namespace

std::vector<part_range> partition(const key& k, uint64_t elements, uint32_t shards,
                                  uint64_t split_bound, uint64_t max_part, uint64_t row_len) {
  auto parts = server_parts(k, elements, shards, split_bound, row_len);
  if (max_part == 0)
    return parts;
  if (row_len > 0)  // chunks of whole rows
    max_part = std::max(row_len, max_part / row_len * row_len);
  if (std::all_of(parts.begin(), parts.end(),
                  [&](const part_range& p) { return p.count <= max_part; }))
    return parts;  // nothing to cut (most keys): no second vector
  std::vector<part_range> out;
  for (auto& p : parts) {
    if (p.count <= max_part) {
      out.push_back(p);
      continue;
    }
    for (uint64_t b = 0; b < p.count; b += max_part)
      out.push_back(part_range{p.shard, p.offset + b, std::min(max_part, p.count - b)});
  }
  return out;
}

bool cuts_between_rows(const std::vector<part_range>& parts, uint64_t row_len) {
  if (row_len == 0)
    return false;
  for (auto& p : parts)
    if (p.offset % row_len != 0 || p.count % row_len != 0)
      return false;
  return true;
}

}  // namespace kvs::detail
