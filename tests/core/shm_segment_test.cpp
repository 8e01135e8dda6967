// Shared memory segments and their ranges (core/shm_segment.hpp,
// core/shm_ranges.hpp): what a server checks before it maps a worker's
// segment, and the worker's allocator that never blocks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <random>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../test_config.hpp"
#include "core/shm_arena.hpp"
#include "core/shm_ranges.hpp"
#include "core/shm_segment.hpp"

using namespace kvs;
using namespace kvs::detail;

TEST_CASE("a mapped segment shares the worker's bytes, inside its bounds only", "[shm]") {
  shm_segment seg(1 << 20);
  shm_mapping map(getpid(), seg.fd(), seg.size(), seg.nonce());
  std::memcpy(seg.base() + 4096, "gradient", 8);
  REQUIRE(std::memcmp(map.range(4096, 8, "t"), "gradient", 8) == 0);
  std::memcpy(map.range(8192, 4, "t"), "sums", 4);
  REQUIRE(std::memcmp(seg.base() + 8192, "sums", 4) == 0);
  REQUIRE_NOTHROW(map.range(seg.size() - 8, 8, "t"));
  require_message([&] { map.range(seg.size() - 8, 16, "a pushed part"); }, errc::invalid_argument,
                  {"a pushed part", "not inside"});
  require_message([&] { map.range(UINT64_MAX - 4, 16, "x"); }, errc::invalid_argument, {"not inside"});
  // The nonce's bytes are no data range.
  require_message([&] { map.range(0, 16, "x"); }, errc::invalid_argument, {"not inside"});
}

TEST_CASE("a segment is not mapped with another nonce, another size, or from nowhere", "[shm]") {
  shm_segment seg(1 << 20);
  auto other = seg.nonce();
  other.lo ^= 1;
  require_message([&] { shm_mapping(getpid(), seg.fd(), seg.size(), other); },
                  errc::invalid_argument, {"nonce"});
  require_message([&] { shm_mapping(getpid(), seg.fd(), seg.size() / 2, seg.nonce()); },
                  errc::invalid_argument, {"not a sealed segment", "announced"});
  // A pid and fd that mean nothing here (another host's process).
  require_message([&] { shm_mapping(getpid(), 1000000, seg.size(), seg.nonce()); },
                  errc::io_error, {"cannot open /proc/"});
  require_message([&] { shm_mapping(-1, seg.fd(), seg.size(), seg.nonce()); },
                  errc::invalid_argument, {"malformed"});
}

TEST_CASE("a memfd that its owner could still shrink is not mapped", "[shm]") {
  int fd = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, 1 << 20) == 0);
  require_message([&] { shm_mapping(getpid(), fd, 1 << 20, shm_nonce{}); },
                  errc::invalid_argument, {"not a sealed segment"});
  close(fd);
}

TEST_CASE("shm ranges hand out aligned ranges until full, then nothing, and merge back", "[shm]") {
  shm_ranges r(shm_header_bytes, 64 + 1024);
  auto a = r.take(100);
  auto b = r.take(500);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(*a == 64);
  REQUIRE(*b == 64 + 128);  // 100 rounded up to 128
  REQUIRE(*b % 64 == 0);
  REQUIRE_FALSE(r.take(1024));  // does not fit: the caller sends in the message
  REQUIRE_FALSE(r.take(0));
  r.give_back(*a);
  r.give_back(*b);
  REQUIRE(r.in_use() == 0);
  auto whole = r.take(1024);  // the freed neighbours merged into one range
  REQUIRE(whole);
  REQUIRE(*whole == 64);
  require_message([&] { r.give_back(128); }, errc::invalid_argument, {"not in use"});
}

TEST_CASE("a server maps no path a peer names unless it is a plain sealed memory file of a "
          "bounded size",
          "[shm]") {
  int p[2];
  REQUIRE(pipe(p) == 0);  // a FIFO: opening or reading it must never block the server
  require_message([&] { shm_mapping(getpid(), p[0], 1 << 20, shm_nonce{}); },
                  errc::invalid_argument, {"not a plain memory file"});
  close(p[0]);
  close(p[1]);
  shm_segment seg(1 << 20);
  require_message([&] { shm_mapping(getpid(), seg.fd(), shm_max_segment_bytes + 1, seg.nonce()); },
                  errc::invalid_argument, {"malformed"});
  // hugetlbfs: a page read when none is free would raise SIGBUS in the server.
  int h = memfd_create("huge", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
  if (h < 0) {
    WARN("no hugetlb memfd here: that refusal is not exercised");
    return;
  }
  const long huge = 2L << 20;
  bool sized = ftruncate(h, huge) == 0 &&
               fcntl(h, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0;
  if (sized)
    require_message([&] { shm_mapping(getpid(), h, huge, shm_nonce{}); }, errc::invalid_argument,
                    {"not a plain memory file"});
  close(h);
}

TEST_CASE("a segment's owner reads the challenge a server wrote into its header", "[shm]") {
  shm_segment seg(1 << 20);
  shm_mapping map(getpid(), seg.fd(), seg.size(), seg.nonce());
  auto c = random_shm_nonce();
  map.write_challenge(c);
  REQUIRE(seg.challenge() == c);
  shm_nonce first;  // the challenge leaves the nonce as it was
  std::memcpy(&first, seg.base(), sizeof(first));
  REQUIRE(first == seg.nonce());
}

TEST_CASE("shm ranges name the range in use that holds a byte", "[shm]") {
  shm_ranges r(shm_header_bytes, 64 + 1024);
  auto a = r.take(100);
  REQUIRE(a);
  REQUIRE(r.holder_of(*a + 99) == std::make_pair(*a, uint64_t{128}));
  REQUIRE_FALSE(r.holder_of(*a + 128));  // free
  REQUIRE_FALSE(r.holder_of(0));         // the header
}

TEST_CASE("the arena reuses ranges but never one kept out", "[shm]") {
  auto& arena = shm_arena::instance();
  std::string why;
  REQUIRE(arena.enable(uint64_t{64} << 20, 1, why));  // or the one already on
  auto* p = arena.take(100000);
  REQUIRE(p != nullptr);
  auto at = arena.offset_of(p, 100000);
  REQUIRE(at);
  REQUIRE(*at % shm_range_alignment == 0);
  REQUIRE_FALSE(arena.offset_of(&why, 1));  // not arena memory
  REQUIRE(arena.give_back(p));
  auto* q = arena.take(100000);
  REQUIRE(q != nullptr);
  at = arena.offset_of(q, 100000);
  auto kept = arena.kept_out_bytes();
  REQUIRE(arena.keep_out(static_cast<char*>(q) + 5000) >= 100000);
  REQUIRE(arena.kept_out_bytes() >= kept + 100000);
  REQUIRE(arena.give_back(q));
  auto* r = arena.take(100000);
  REQUIRE(r != nullptr);
  auto r_at = arena.offset_of(r, 100000);
  REQUIRE((*r_at >= *at + 100000 || *r_at + 100000 <= *at));  // not the kept range
  REQUIRE(arena.give_back(r));
  int on_heap = 0;
  REQUIRE_FALSE(arena.give_back(&on_heap));
}

// Random takes and gives back against a plain model of the ranges in use:
// no two overlap, all are aligned and inside, a take fails only when no gap
// of the model is big enough, and everything given back is one range again.
TEST_CASE("shm ranges against a model under random takes and gives back", "[shm]") {
  constexpr uint64_t begin = 64, end = 64 + (uint64_t{1} << 20);
  shm_ranges r(begin, end);
  std::map<uint64_t, uint64_t> model;  // offset -> rounded bytes in use
  std::mt19937_64 rng(7);
  auto round_up = [](uint64_t b) { return (b + 63) / 64 * 64; };
  auto largest_gap = [&] {
    uint64_t at = begin, best = 0;
    for (auto& [o, b] : model) {
      best = std::max(best, o - at);
      at = o + b;
    }
    return std::max(best, end - at);
  };
  for (int step = 0; step < 20000; ++step) {
    if (model.empty() || rng() % 3 != 0) {
      uint64_t bytes = 1 + rng() % (rng() % 4 == 0 ? 200000 : 5000);
      auto at = r.take(bytes);
      if (!at) {
        REQUIRE(largest_gap() < round_up(bytes));
        continue;
      }
      REQUIRE(*at % 64 == 0);
      REQUIRE(*at >= begin);
      REQUIRE(*at + round_up(bytes) <= end);
      auto next = model.lower_bound(*at);
      if (next != model.end())
        REQUIRE(*at + round_up(bytes) <= next->first);
      if (next != model.begin())
        REQUIRE(std::prev(next)->first + std::prev(next)->second <= *at);
      model.emplace(*at, round_up(bytes));
    } else {
      auto i = model.begin();
      std::advance(i, static_cast<long>(rng() % model.size()));
      r.give_back(i->first);
      model.erase(i);
    }
    uint64_t used = 0;
    for (auto& m : model)
      used += m.second;
    REQUIRE(r.in_use() == used);
  }
  for (auto& m : model)
    r.give_back(m.first);
  REQUIRE(r.take(end - begin) == begin);
}

// fork() after the arena is on: the child's writes into an array it
// inherited must not reach the parent (as for heap memory), and the child
// takes nothing from the parent's arena.
TEST_CASE("a child forked from a process with an arena writes its own copy of the arrays",
          "[shm]") {
  auto& arena = shm_arena::instance();
  std::string why;
  REQUIRE(arena.enable(uint64_t{64} << 20, 1, why));
  auto* p = static_cast<int*>(arena.take(4096));
  REQUIRE(p != nullptr);
  p[0] = 1;
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    p[0] = 2;
    _exit(arena.take(4096) == nullptr ? 0 : 3);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(p[0] == 1);
  REQUIRE(arena.give_back(p));
}
