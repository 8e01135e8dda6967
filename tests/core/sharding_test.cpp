#include <catch2/catch.hpp>

#include "core/sharding.hpp"

using namespace kvs;
using kvs::detail::partition;
using kvs::detail::shard_of;

TEST_CASE("small keys go whole to (key * 9973) % shards in uint64", "[sharding]") {
  REQUIRE(shard_of(key(3), 4) == (3u * 9973u) % 4u);
  REQUIRE(shard_of(key(1), 2) == 1);
  // 215330 * 9973 overflows int32: MXNet's int arithmetic broke there.
  REQUIRE(shard_of(key(215330), 7) == static_cast<uint32_t>((215330ull * 9973ull) % 7ull));
  auto parts = partition(key(5), 100, 3, 1000);
  REQUIRE(parts.size() == 1);
  REQUIRE(parts[0].shard == shard_of(key(5), 3));
  REQUIRE(parts[0].count == 100);
}

TEST_CASE("string keys shard by FNV-1a 64, stable across builds", "[sharding]") {
  // FNV-1a 64 of "weight" is 0x0c4ac1a8b2dbd6d8... computed by hand below.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : std::string("weight")) {
    h ^= c;
    h *= 1099511628211ull;
  }
  REQUIRE(key("weight").stable_hash() == h);
  REQUIRE(key("").stable_hash() == 14695981039346656037ull);
  REQUIRE(shard_of(key("weight"), 5) == h % 5);
}

TEST_CASE("big arrays split into one part per shard with MXNet's rounding", "[sharding]") {
  auto parts = partition(key(9), 1211 * 1211, 2, 1000000);
  REQUIRE(parts.size() == 2);
  REQUIRE(parts[0].shard == 0);
  REQUIRE(parts[0].offset == 0);
  REQUIRE(parts[0].count == 733261);
  REQUIRE(parts[1].shard == 1);
  REQUIRE(parts[1].offset == 733261);
  REQUIRE(parts[1].offset + parts[1].count == 1211u * 1211u);
  auto three = partition(key(9), 1000000, 3, 1000000);
  REQUIRE(three.size() == 3);
  REQUIRE(three[1].offset == 333333);
  REQUIRE(three[2].offset == 666667);
  REQUIRE(partition(key(9), 5000000, 2, 0).size() == 1);  // bound 0: never split
}
