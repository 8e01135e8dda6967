// A shard answers bad requests with errors and keeps serving.
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "../test_config.hpp"
#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "shard_driver.hpp"

using namespace kvs;

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

TEST_CASE("a shard refuses malformed pushes, pulls and settings and serves the same and other keys exactly",
          "[server]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.num_workers = 2;
  opts.inline_bound = 0;  // every sum and copy goes to the reducer actor
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  auto init = [](int k, double v) {
    return request(part_op::init, k, {array_view::whole(ndarray::full({4, 2}, v))});
  };
  REQUIRE(ask(self, shard, part_batch{{init(1, 1.0), init(2, 10.0)}}).results.at(1).ok);
  auto push = [](int k, int worker, double v, size_t n = 8) {
    auto r = request(part_op::push, k, {array_view::whole(ndarray::full({static_cast<int64_t>(n)}, v))});
    r.worker = worker;
    return r;
  };
  // Worker 0 opens key 1's round; then malformed requests, one per kind.
  auto sparse = push(1, 1, 1.0);
  sparse.sparse = true;
  sparse.rows = {2, 1};  // not sorted
  auto far_rows = push(1, 1, 1.0);
  far_rows.sparse = true;
  far_rows.rows = {0, 4};  // key 1 has 4 rows
  auto odd_op = request(part_op::pull, 1, {});
  odd_op.op = static_cast<part_op>(9);
  // (A plain send: its answer comes when the round completes; the requests
  // below, from the same sender, reach the shard after it.)
  self->send(shard, batch_atom::value, part_batch{{push(1, 0, 1.0)}});
  auto bad = ask(self, shard,
                 part_batch{{push(1, 0, 1.0), push(1, 1, 1.0, 7), push(1, 7, 1.0), sparse, far_rows,
                             odd_op, push(1, 0, 1.0)}});
  REQUIRE(bad.results.size() == 7);
  auto fails = [&](size_t i, errc code, const std::string& part) {
    INFO(i << ": " << bad.results[i].message);
    REQUIRE_FALSE(bad.results[i].ok);
    REQUIRE(static_cast<errc>(bad.results[i].code) == code);
    REQUIRE(bad.results[i].message.find(part) != std::string::npos);
  };
  fails(0, errc::invalid_argument, "twice in one round");
  fails(1, errc::shape_mismatch, "7 elements");        // the reducer refused the sum
  fails(2, errc::invalid_argument, "worker rank 7");   // not a worker of this job
  fails(3, errc::invalid_argument, "sorted, unique");  // rows out of order
  fails(4, errc::invalid_argument, "below 4");         // a row past the key
  fails(5, errc::invalid_argument, "unknown operation");
  fails(6, errc::invalid_argument, "twice in one round");
  // An updater setting no optimizer has is refused; the shard keeps none.
  bool refused = false;
  self->request(shard, std::chrono::seconds(10), updater_atom::value, updater_setting{{}, 1u << 30, false})
      .receive([](ok_atom) {}, [&](caf::error&) { refused = true; });
  REQUIRE(refused);
  // Worker 1's good push completes key 1's round: the sum of the two good pushes.
  auto out = ndarray::full({8}, -1.0);
  auto good = ask(self, shard, part_batch{{push(1, 1, 2.0), request(part_op::pull, 1, {}, {array_view::whole(out)})}});
  REQUIRE(good.results.at(0).ok);
  REQUIRE(good.results.at(1).ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(8, 3.0f));
  bool first_answered = false;
  self->receive([&](batch_reply& r) { first_answered = r.results.at(0).ok; },
                caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(first_answered);
  // Key 2 was never touched, and serves rounds too.
  auto out2 = ndarray::full({8}, -1.0);
  auto other = ask(self, shard, part_batch{{push(2, 0, 4.0), push(2, 1, 5.0),
                                            request(part_op::pull, 2, {}, {array_view::whole(out2)})}});
  for (auto& r : other.results)
    REQUIRE(r.ok);
  REQUIRE(out2.to_vector<float>() == std::vector<float>(8, 9.0f));
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  reducers.stop();
}
