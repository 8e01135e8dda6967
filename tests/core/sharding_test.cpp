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
  // Known FNV-1a 64 values: "" is the offset basis, "a" and "foobar" are in
  // the FNV reference test vectors; "weight" and "fc1_weight" were computed
  // outside this code (Python, h ^= byte; h *= 0x100000001b3 mod 2^64).
  struct known {
    const char* text;
    uint64_t hash;
    uint32_t shard_of_5, shard_of_7;
  };
  for (auto k : {known{"", 0xcbf29ce484222325ull, 2, 2}, known{"a", 0xaf63dc4c8601ec8cull, 1, 5},
                 known{"foobar", 0x85944171f73967e8ull, 3, 6},
                 known{"weight", 0x6911f8de1f27bf19ull, 3, 3},
                 known{"fc1_weight", 0x80a5e231b5711edeull, 4, 2}}) {
    INFO("key \"" << k.text << "\"");
    REQUIRE(key(k.text).stable_hash() == k.hash);
    REQUIRE(shard_of(key(k.text), 5) == k.shard_of_5);
    REQUIRE(shard_of(key(k.text), 7) == k.shard_of_7);
    REQUIRE(shard_of(key(k.text), 1) == 0);
  }
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

TEST_CASE("parts above the chunk size are cut into chunks on their shard; the rest stay whole",
          "[sharding]") {
  auto whole = partition(key(9), 1000, 2, 100);  // two parts of 500
  REQUIRE(whole.size() == 2);
  auto cut = partition(key(9), 1000, 2, 100, 200);
  REQUIRE(cut.size() == 6);  // 200, 200, 100 on each shard
  uint64_t next = 0;
  for (auto& p : cut) {
    REQUIRE(p.count <= 200);
    REQUIRE(p.offset == next);
    REQUIRE(p.shard == (p.offset < whole[1].offset ? whole[0].shard : whole[1].shard));
    next += p.count;
  }
  REQUIRE(next == 1000);
  auto fits = partition(key(9), 1000, 2, 100, 500);  // no part above it
  REQUIRE(fits.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    REQUIRE(fits[i].shard == whole[i].shard);
    REQUIRE(fits[i].offset == whole[i].offset);
    REQUIRE(fits[i].count == whole[i].count);
  }
}
