// A shard's rounds of packed (compressed) pushes: the shard holds a round's
// packed pushes and sums them in one pass when the round completes; a plain
// push in the same round keeps its place in the order of the sum.
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "core/compression.hpp"
#include "shard_driver.hpp"

using namespace kvs;

namespace {

// 4 values, all +3 or all -3, packed by hand as 2bit with threshold 3:
// code 11 (+t) or 10 (-t) for each of the 4 values of byte 0, then zeros.
part_request packed_push(int worker, bool plus) {
  auto bytes = ndarray::zeros({4}, dtype::u8);
  auto* b = bytes.data<uint8_t>();
  b[0] = plus ? 0xFF : 0xAA;
  auto r = request(part_op::push, 1, {array_view::whole(bytes)});
  r.worker = worker;
  r.codec = static_cast<uint8_t>(detail::codec::two_bit);
  return r;
}

part_request plain_push(int worker, double v) {
  auto r = request(part_op::push, 1, {array_view::whole(ndarray::full({4}, v))});
  r.worker = worker;
  return r;
}

std::vector<float> round_of(caf::scoped_actor& self, const shard_actor& shard,
                            std::vector<part_request> pushes) {
  auto out = ndarray::full({4}, -1.0);
  auto pull = request(part_op::pull, 1, {}, {array_view::whole(out)});
  pull.worker = 0;
  pushes.push_back(pull);
  for (auto& r : ask(self, shard, part_batch{std::move(pushes)}).results) {
    INFO(r.message);
    REQUIRE(r.ok);
  }
  return out.to_vector<float>();
}

}  // namespace

TEST_CASE("a round mixing plain and packed pushes sums them in the order they came",
          "[server][compression]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.num_workers = 3;
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  self->request(shard, std::chrono::seconds(10), compression_atom::value, std::string("2bit,3"))
      .receive([](ok_atom) {}, [](caf::error&) { FAIL("compression refused"); });
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::zeros({4}))})}})
              .results.at(0)
              .ok);
  // Floats near 1e8 are 8 apart: (1e8 + 3) + 3 is 1e8, but 1e8 + (3 + 3)
  // is 1e8 + 8. So the order shows, and so would a lost push.
  const std::vector<float> hundred_million(4, 1e8f);
  SECTION("a plain push, then packed ones") {
    REQUIRE(round_of(self, shard, {plain_push(0, 1e8), packed_push(1, true), packed_push(2, true)}) ==
            hundred_million);
  }
  SECTION("a packed push, a plain one, a packed one") {
    REQUIRE(round_of(self, shard, {packed_push(0, true), plain_push(1, 1e8), packed_push(2, true)}) ==
            hundred_million);
  }
  SECTION("packed pushes only, over rounds") {
    REQUIRE(round_of(self, shard, {packed_push(0, true), packed_push(1, false), packed_push(2, true)}) ==
            std::vector<float>(4, 3.0f));
    REQUIRE(round_of(self, shard, {packed_push(2, false), packed_push(0, false), packed_push(1, true)}) ==
            std::vector<float>(4, -3.0f));
  }
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  reducers.stop();
}
