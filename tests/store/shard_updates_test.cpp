// Where a shard runs an update (actors/key_round.cpp, run_update): lazy
// updates of one push's rows by the built-in optimizer run in the shard
// itself while those one message sets off stay within
// shard_options::inline_update_bound row elements; others in the updater
// actor, and all of them there once that actor is gone. The two routes
// carry one key's state and update count between them exactly.
#include <catch2/catch.hpp>

#include <thread>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/function_updater.hpp"
#include "actors/key_shard.hpp"
#include "actors/optimizer_updater.hpp"
#include "shard_driver.hpp"

using namespace kvs;

namespace {

part_request push_rows(int k, std::vector<int64_t> rows, int64_t cols, double v) {
  auto n = static_cast<int64_t>(rows.size());
  auto r = request(part_op::push, k, {array_view::whole(ndarray::full({n, cols}, v))});
  r.sparse = true;
  r.rows = std::move(rows);
  return r;
}

// An updater that adds 1000 to every element: set up under a built-in
// optimizer's name, the values show whether the shard or this actor ran.
updater_actor adds_1000(caf::actor_system& sys) {
  return spawn_function_updater(sys, [](const key&, const ndarray&, ndarray& stored) {
    float* w = stored.data<float>();
    for (size_t i = 0; i < stored.size(); ++i)
      w[i] += 1000;
  });
}

void install(caf::scoped_actor& self, const shard_actor& shard, const updater_setting& setting) {
  self->request(shard, std::chrono::seconds(10), updater_atom::value, setting)
      .receive([](ok_atom) {}, [](caf::error&) { FAIL("the shard refused the updater"); });
}

void init_key(caf::scoped_actor& self, const shard_actor& shard, int k) {
  auto r = ask(self, shard,
               part_batch{{request(part_op::init, k, {array_view::whole(ndarray::full({4, 3}, 2.0))})}});
  REQUIRE(r.results.at(0).ok);
}

std::vector<float> pulled(caf::scoped_actor& self, const shard_actor& shard, int k, size_t n) {
  auto out = ndarray::zeros({static_cast<int64_t>(n) / 3, 3});
  auto r = ask(self, shard, part_batch{{request(part_op::pull, k, {}, {array_view::whole(out)})}});
  REQUIRE(r.results.at(0).ok);
  return out.to_vector<float>();
}

}  // namespace

TEST_CASE("a shard runs a lazy update of fewer row elements than its bound itself, and a bigger "
          "one in the updater actor",
          "[server][sparse][optimizer]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.inline_update_bound = 7;  // rows of 3 elements: 2 rows here, 3 in the actor
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  // The setting names sgd as the optimizer its actor runs, but the actor
  // adds 1000 to every element instead: the values show which one ran.
  auto sgd = create_optimizer("sgd", {{"learning_rate", 0.5}});
  auto marker = adds_1000(sys);
  auto setting = optimizer_setting(marker, sgd);
  REQUIRE(setting.takes_rows);
  self->request(shard, std::chrono::seconds(10), updater_atom::value, setting)
      .receive([](ok_atom) {}, [](caf::error&) { FAIL("the shard refused the updater"); });
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::full({4, 3}, 2.0))})}})
              .results.at(0)
              .ok);

  // Rows 0 and 2 (6 elements): sgd here, 2 - 0.5 * 1 in those rows only.
  REQUIRE(ask(self, shard, part_batch{{push_rows(1, {0, 2}, 3, 1.0)}}).results.at(0).ok);
  std::vector<float> want = {1.5f, 1.5f, 1.5f, 2, 2, 2, 1.5f, 1.5f, 1.5f, 2, 2, 2};
  REQUIRE(pulled(self, shard, 1, 12) == want);

  // Rows 0, 1 and 3 (9 elements): the actor, + 1000 everywhere.
  REQUIRE(ask(self, shard, part_batch{{push_rows(1, {0, 1, 3}, 3, 1.0)}}).results.at(0).ok);
  for (auto& x : want)
    x += 1000;
  REQUIRE(pulled(self, shard, 1, 12) == want);

  // Another updater (a user's, without a built-in optimizer): always the actor.
  auto plain = optimizer_setting(marker, sgd);
  plain.built_in = nullptr;
  self->request(shard, std::chrono::seconds(10), updater_atom::value, plain)
      .receive([](ok_atom) {}, [](caf::error&) { FAIL("the shard refused the updater"); });
  REQUIRE(ask(self, shard, part_batch{{push_rows(1, {2}, 3, 1.0)}}).results.at(0).ok);
  for (auto& x : want)
    x += 1000;
  REQUIRE(pulled(self, shard, 1, 12) == want);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(marker, caf::exit_reason::user_shutdown);
  reducers.stop();
}

TEST_CASE("the shard's budget for updates it runs itself is per message, not per update",
          "[server][sparse][optimizer]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.inline_update_bound = 7;  // one push of 2 rows of 3 fits, two do not
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  auto sgd = create_optimizer("sgd", {{"learning_rate", 0.5}});
  auto marker = adds_1000(sys);
  install(self, shard, optimizer_setting(marker, sgd));
  init_key(self, shard, 1);
  init_key(self, shard, 2);
  // One message, two keys, 6 row elements each: key 1 here, key 2 in the actor.
  auto r = ask(self, shard, part_batch{{push_rows(1, {0, 2}, 3, 1.0), push_rows(2, {0, 2}, 3, 1.0)}});
  REQUIRE(r.results.at(0).ok);
  REQUIRE(r.results.at(1).ok);
  REQUIRE(pulled(self, shard, 1, 12) ==
          std::vector<float>{1.5f, 1.5f, 1.5f, 2, 2, 2, 1.5f, 1.5f, 1.5f, 2, 2, 2});
  REQUIRE(pulled(self, shard, 2, 12) == std::vector<float>(12, 1002.0f));
  // The next message has its own budget.
  REQUIRE(ask(self, shard, part_batch{{push_rows(2, {1}, 3, 1.0)}}).results.at(0).ok);
  REQUIRE(pulled(self, shard, 2, 12) ==
          std::vector<float>{1002, 1002, 1002, 1001.5f, 1001.5f, 1001.5f, 1002, 1002, 1002, 1002,
                             1002, 1002});
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(marker, caf::exit_reason::user_shutdown);
  reducers.stop();
}

TEST_CASE("once the optimizer's actor is gone the shard runs no update itself",
          "[server][sparse][optimizer]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.request_timeout = std::chrono::seconds(5);
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  auto sgd = create_optimizer("sgd", {{"learning_rate", 0.5}});
  auto actor = spawn_optimizer_updater(sys, sgd);
  install(self, shard, optimizer_setting(actor, sgd));
  init_key(self, shard, 1);
  REQUIRE(ask(self, shard, part_batch{{push_rows(1, {0}, 3, 1.0)}}).results.at(0).ok);
  // As after a set_optimizer that failed on another shard: its actor is killed.
  self->monitor(actor);
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {});
  // The shard's own down message may trail ours: ask until the push fails.
  part_result last;
  for (int i = 0; i < 100; ++i) {
    last = ask(self, shard, part_batch{{push_rows(1, {1}, 3, 1.0)}}).results.at(0);
    if (!last.ok)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE_FALSE(last.ok);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  reducers.stop();
}

TEST_CASE("rounds updated in the shard and in the actor carry one key's adam state exactly",
          "[server][sparse][optimizer]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  auto adam = create_optimizer("adam", {{"learning_rate", 0.1}, {"lazy_update", 1}});
  // Same pushes into two shards: one switches between its own thread (2
  // rows) and the actor (3 rows) from round to round, the other always
  // uses the actor. A lost or doubled count or state differs in the bits.
  shard_options mixed_opts;
  mixed_opts.inline_update_bound = 7;
  shard_options actor_opts;
  actor_opts.inline_update_bound = 0;
  auto mixed = spawn_key_shard(sys, reducers, mixed_opts);
  auto only_actor = spawn_key_shard(sys, reducers, actor_opts);
  caf::scoped_actor self{sys};
  auto a1 = spawn_optimizer_updater(sys, adam);
  auto a2 = spawn_optimizer_updater(sys, adam);
  install(self, mixed, optimizer_setting(a1, adam));
  install(self, only_actor, optimizer_setting(a2, adam));
  const std::vector<std::vector<int64_t>> rounds = {{0, 2}, {0, 1, 3}, {1, 2}, {0, 2, 3}, {0, 3}};
  for (auto* shard : {&mixed, &only_actor}) {
    init_key(self, *shard, 1);
    double g = 0.25;
    for (auto& rows : rounds) {
      REQUIRE(ask(self, *shard, part_batch{{push_rows(1, rows, 3, g)}}).results.at(0).ok);
      g = -1.5 * g + 0.125;
    }
  }
  auto want = pulled(self, only_actor, 1, 12);
  REQUIRE(want != std::vector<float>(12, 2.0f));
  REQUIRE(pulled(self, mixed, 1, 12) == want);
  for (auto h : {mixed, only_actor})
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(a1, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(a2, caf::exit_reason::user_shutdown);
  reducers.stop();
}
