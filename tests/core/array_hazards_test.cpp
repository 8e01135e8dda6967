// The array hazards on their own: who waits for whom by shared storage.
#include <catch2/catch.hpp>

#include "core/array_hazards.hpp"

using kvs::detail::array_hazards;
using ids = std::vector<uint64_t>;

namespace {
int x, y, z;  // stand-ins for three storages
}

TEST_CASE("a read waits for earlier writes, a write for earlier reads and writes", "[hazards]") {
  array_hazards h;
  REQUIRE(h.add(1, {}, {&x}) == ids{});          // pull(1, x)
  REQUIRE(h.add(2, {&x}, {}) == ids{1});         // push(2, x): after the pull's write
  REQUIRE(h.add(3, {&y}, {}) == ids{});          // unrelated
  REQUIRE(h.add(4, {&y}, {}) == ids{});          // reads do not wait for reads
  REQUIRE(h.add(5, {}, {&y}) == ids{3, 4});      // a write waits for the reads
  REQUIRE(h.add(6, {}, {&x}) == ids{1, 2});      // and for the earlier write and read
}

TEST_CASE("an operation that reads and writes one array waits for nobody but earlier ones", "[hazards]") {
  array_hazards h;
  REQUIRE(h.add(1, {&z}, {&z}) == ids{});  // in-place pushpull
  REQUIRE(h.add(2, {&z}, {&z}) == ids{1});
}

TEST_CASE("a finished operation holds nothing", "[hazards]") {
  array_hazards h;
  h.add(1, {&x, &x}, {&y});
  h.remove(1, {&x, &x, &y});
  REQUIRE(h.empty());
  REQUIRE(h.add(2, {&y}, {&x}) == ids{});
}

TEST_CASE("a finished operation takes away only its own accesses of a shared storage",
          "[hazards]") {
  array_hazards h;
  h.add(1, {&x}, {});
  h.add(2, {&x}, {});
  h.remove(1, {&x});
  REQUIRE_FALSE(h.empty());
  REQUIRE(h.add(3, {}, {&x}) == ids{2});  // the write still waits for the other read
}

TEST_CASE("an access of a finished operation, reused for another storage, keeps nothing of the "
          "old one",
          "[hazards]") {
  array_hazards h;
  h.add(1, {}, {&x});
  h.add(2, {&z}, {});
  h.remove(1, {&x});  // its node is kept for the next access
  h.remove(2, {&z});
  REQUIRE(h.add(3, {&y}, {}) == ids{});      // takes a kept node for y
  REQUIRE(h.add(4, {&z}, {&z}) == ids{});    // and another, for z
  REQUIRE(h.add(5, {}, {&x}) == ids{});      // x is free
  REQUIRE(h.add(6, {}, {&y}) == ids{3});     // y is read by 3, not written
  REQUIRE(h.add(7, {&z}, {}) == ids{4});
  h.remove(3, {&y});
  h.remove(4, {&z, &z});
  h.remove(5, {&x});
  h.remove(6, {&y});
  h.remove(7, {&z});
  REQUIRE(h.empty());
}
