// A shard answers bad requests with errors and keeps serving.
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "../test_config.hpp"
#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"

using namespace kvs;

namespace {
batch_reply ask(caf::scoped_actor& self, const shard_actor& shard, part_batch batch) {
  batch_reply out;
  self->request(shard, std::chrono::seconds(10), batch_atom::value, std::move(batch))
      .receive([&](batch_reply& r) { out = std::move(r); }, [&](caf::error&) { FAIL("no answer"); });
  return out;
}

part_request request(part_op op, int k, std::vector<array_view> in, std::vector<array_view> out = {}) {
  part_request r;
  r.op = op;
  r.id = part_id{key(k), 0};
  r.inputs = std::move(in);
  r.outputs = std::move(out);
  return r;
}
}  // namespace

TEST_CASE("a shard answers malformed and unexpected requests with errors and keeps serving",
          "[server]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  auto shard = spawn_key_shard(sys, reducers, shard_options{});
  caf::scoped_actor self{sys};
  auto value = ndarray::full({4}, 1.0);
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(value)})}}).results.at(0).ok);
  // A push whose input has the wrong size, one of the wrong dtype, one of an
  // unknown key, and an init without a value: four errors in one batch.
  auto reply = ask(self, shard,
                   part_batch{{request(part_op::push, 1, {array_view::whole(ndarray::zeros({3}))}),
                               request(part_op::push, 1, {array_view::whole(ndarray::zeros({4}, dtype::f64))}),
                               request(part_op::pull, 9, {}, {array_view::whole(ndarray::zeros({4}))}),
                               request(part_op::init, 2, {})}});
  REQUIRE(reply.results.size() == 4);
  for (auto& r : reply.results)
    REQUIRE_FALSE(r.ok);
  REQUIRE(static_cast<errc>(reply.results[0].code) == errc::shape_mismatch);
  REQUIRE(static_cast<errc>(reply.results[1].code) == errc::dtype_mismatch);
  REQUIRE(static_cast<errc>(reply.results[2].code) == errc::key_not_initialized);
  // A message the shard does not understand gets an error too.
  bool refused = false;
  self->request(caf::actor_cast<caf::actor>(shard), std::chrono::seconds(10), std::string("hello"))
      .receive([](const caf::message&) {}, [&](caf::error&) { refused = true; });
  REQUIRE(refused);
  // And it still serves.
  auto out = ndarray::zeros({4});
  auto good = ask(self, shard,
                  part_batch{{request(part_op::push, 1, {array_view::whole(ndarray::full({4}, 5.0))}),
                              request(part_op::pull, 1, {}, {array_view::whole(out)})}});
  REQUIRE(good.results.at(0).ok);
  REQUIRE(good.results.at(1).ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(4, 5.0f));
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  reducers.stop();
}
