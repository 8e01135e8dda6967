// Where a shard runs an update (actors/key_round.cpp, run_update): a lazy
// update of one push's rows by the built-in optimizer, of fewer row
// elements than shard_options::inline_update_bound, runs in the shard
// itself; a bigger one in the updater actor. That both give the optimizer's
// exact numbers is checked through the store (rows_gradient_test.cpp).
#include <catch2/catch.hpp>

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
  auto marker = spawn_function_updater(sys, [](const key&, const ndarray&, ndarray& stored) {
    float* w = stored.data<float>();
    for (size_t i = 0; i < stored.size(); ++i)
      w[i] += 1000;
  });
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
