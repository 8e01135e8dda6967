// A dist_sync round's pushes from shared memory summed in one pass when a
// later push comes (actors/key_deferred.cpp): the same bits as summing each
// push into the merge buffer as it came, and nothing of a failed round kept.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "core/element.hpp"
#include "shm_shard.hpp"

using namespace kvs;
using kvs::testing::shm_shard;

namespace {

// Worker `rank`'s range in the segment (64-byte aligned).
uint64_t range_of(int rank) { return 128 + 128 * static_cast<uint64_t>(rank); }

// A push of key 5 from worker `rank`'s range.
part_request push_from(int rank) {
  auto r = request(part_op::push, 5, {shm_shard::in_shm(7, range_of(rank))});
  r.worker = rank;
  return r;
}

// Pushes each worker's values from its range, ranks in order, in one batch
// (served in order: the round's arrival order), and returns key 5 pulled.
std::vector<float> round_of(shm_shard& s, const std::vector<std::vector<float>>& values) {
  part_batch b;
  for (size_t w = 0; w < values.size(); ++w) {
    s.write(range_of(static_cast<int>(w)), values[w]);
    b.items.push_back(push_from(static_cast<int>(w)));
  }
  for (auto& r : ask(s.self, s.shard, b).results) {
    INFO(r.message);
    REQUIRE(r.ok);
  }
  return s.pulled();
}

// Each element summed as the pushes came, one at a time (the merge buffer's order).
std::vector<float> folded(const std::vector<std::vector<float>>& values) {
  std::vector<float> out = values[0];
  for (size_t w = 1; w < values.size(); ++w)
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = out[i] + values[w][i];
  return out;
}

// The bits of floats (== would call -0 and 0 equal).
std::vector<uint32_t> bits(const std::vector<float>& v) {
  std::vector<uint32_t> out(v.size());
  std::memcpy(out.data(), v.data(), v.size() * sizeof(float));
  return out;
}

}  // namespace

TEST_CASE("a dist_sync round sums its pushes from shared memory in the order they came, bit for "
          "bit",
          "[server][shm]") {
  // Values whose float sum depends on the order: 1e8 + 1 rounds to 1e8.
  std::vector<std::vector<float>> values;
  SECTION("2 workers") { values = {{1e8f, 1.5f, -0.0f, 3}, {1, -2.25f, -0.0f, 4}}; }
  SECTION("3 workers") { values = {{1e8f, 1, 1, 0.5f}, {-1e8f, 1e8f, 2, 0.25f}, {1, -1e8f, 3, 8}}; }
  SECTION("4 workers (a pass of four would sum in pairs)") {
    values = {{1e8f, 1, 2, 1e8f}, {1, 1e8f, 2, -1e8f}, {-1e8f, -1e8f, 2, 1}, {1, 1, 2, 1}};
  }
  int n = static_cast<int>(values.size());
  shm_shard s(true, n);
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  for (int round = 0; round < 3; ++round) {  // the merge buffer is reused across rounds
    INFO("round " << round);
    REQUIRE(bits(round_of(s, values)) == bits(folded(values)));
  }
}

TEST_CASE("a dist_sync round of 16-bit floats rounds once per push, as it came", "[server][shm]") {
  shm_shard s(true, 3);
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  REQUIRE(ask(s.self, s.shard,
              part_batch{{request(part_op::init, 6, {array_view::whole(ndarray::zeros({4}, dtype::f16))})}})
              .results.at(0)
              .ok);
  // 2048 + 1 rounds to 2048 in f16 (ties to even): once per push, 2048 + 1 + 1
  // stays 2048; rounded once at the end it would be 2050.
  std::vector<float> pushed = {2048, 1, 1};
  part_batch b;
  for (int w = 0; w < 3; ++w) {
    uint16_t h[4];
    for (auto& x : h)
      x = detail::float_to_half(pushed[static_cast<size_t>(w)]);
    std::memcpy(s.seg.base() + range_of(w), h, sizeof(h));
    auto r = request(part_op::push, 6, {shm_shard::in_shm(7, range_of(w), 4, dtype::f16, 8)});
    r.worker = w;
    b.items.push_back(r);
  }
  for (auto& r : ask(s.self, s.shard, b).results) {
    INFO(r.message);
    REQUIRE(r.ok);
  }
  auto out = ndarray::zeros({4}, dtype::f16);
  REQUIRE(ask(s.self, s.shard, part_batch{{request(part_op::pull, 6, {}, {array_view::whole(out)})}})
              .results.at(0)
              .ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>{2048, 2048, 2048, 2048});
}

TEST_CASE("a dist_sync round's pushes from shared memory and a row_sparse push sum in the order "
          "they came",
          "[server][shm]") {
  // The two pushes kept in shared memory are summed before the rows are added.
  shm_shard s(true, 3);
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  s.write(range_of(0), {1e8f, 1e8f, 2, 3});
  s.write(range_of(1), {-1e8f, 1, 4, 5});
  auto rows = request(part_op::push, 5, {array_view::whole(ndarray::from_vector<float>({1, 10}, {2}))});
  rows.worker = 2;
  rows.sparse = true;
  rows.rows = {0, 3};
  auto r = ask(s.self, s.shard, part_batch{{push_from(0), push_from(1), rows}});
  for (auto& x : r.results) {
    INFO(x.message);
    REQUIRE(x.ok);
  }
  // Element 1: (1e8 + 1) + 0 = 1e8; element 0: (1e8 - 1e8) + 1 = 1.
  REQUIRE(s.pulled() == std::vector<float>{1, 1e8f, 6, 18});
}

TEST_CASE("a dist_sync round that times out keeps nothing of its pushes from shared memory",
          "[server][shm]") {
  shm_shard s(true, 2, std::chrono::milliseconds(300));
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  s.write(range_of(0), {100, 100, 100, 100});
  require_failure(ask(s.self, s.shard, part_batch{{push_from(0)}}).results.at(0), errc::timeout,
                  {"no push from worker ranks 1"});
  // The worker has its range back; the next round sums only its own pushes.
  REQUIRE(round_of(s, {{1, 2, 3, 4}, {10, 10, 10, 10}}) == std::vector<float>{11, 12, 13, 14});
}

TEST_CASE("a dist_sync round holding a push from shared memory ends with peer_down when a worker "
          "is lost",
          "[server][shm]") {
  shm_shard s(true, 3);
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  s.write(range_of(0), {1, 2, 3, 4});
  s.write(range_of(1), {1, 2, 3, 4});
  auto pending = s.self->request(s.shard, std::chrono::seconds(10), batch_atom::value,
                                 part_batch{{push_from(0), push_from(1)}});
  caf::anon_send(s.shard, worker_down_atom::value, int32_t{2});
  bool answered = false;
  pending.receive(
      [&](batch_reply& r) {
        answered = true;
        for (auto& x : r.results)
          require_failure(x, errc::peer_down, {"worker rank 2 is down"});
      },
      [&](caf::error&) { FAIL("no answer"); });
  REQUIRE(answered);
}
