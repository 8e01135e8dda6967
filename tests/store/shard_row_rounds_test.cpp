// A sync shard's rounds of several workers' row pushes (actors/round_rows.cpp),
// driven directly: held as they came and summed into one compact gradient
// for the built-in lazy optimizer, every pushed row counted as taken; and a
// round whose rows were held when the updater was replaced by one that does
// not take rows sums them into the merge buffer, losing none.
#include <catch2/catch.hpp>

#include <tuple>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/function_updater.hpp"
#include "actors/key_shard.hpp"
#include "actors/optimizer_updater.hpp"
#include "shard_driver.hpp"

using namespace kvs;

namespace {

part_request push_rows(int worker, std::vector<int64_t> rows, double v) {
  auto n = static_cast<int64_t>(rows.size());
  auto r = request(part_op::push, 1, {array_view::whole(ndarray::full({n, 3}, v))});
  r.sparse = true;
  r.rows = std::move(rows);
  r.worker = worker;
  return r;
}

void install(caf::scoped_actor& self, const shard_actor& shard, const updater_setting& setting) {
  self->request(shard, std::chrono::seconds(10), updater_atom::value, setting)
      .receive([](ok_atom) {}, [](caf::error&) { FAIL("the shard refused the updater"); });
}

std::vector<float> pulled(caf::scoped_actor& self, const shard_actor& shard) {
  auto out = ndarray::zeros({4, 3});
  auto r = ask(self, shard, part_batch{{request(part_op::pull, 1, {}, {array_view::whole(out)})}});
  REQUIRE(r.results.at(0).ok);
  return out.to_vector<float>();
}

// A sync shard of 2 workers with lazy sgd (lr .5), key 1 of 4 x 3 at 2.
struct two_workers {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_actor shard;
  caf::scoped_actor self{sys};

  two_workers() {
    shard_options opts;
    opts.num_workers = 2;
    shard = spawn_key_shard(sys, reducers, opts);
    auto sgd = create_optimizer("sgd", {{"learning_rate", 0.5}});
    install(self, shard, optimizer_setting(spawn_optimizer_updater(sys, sgd), sgd));
    auto init = request(part_op::init, 1, {array_view::whole(ndarray::full({4, 3}, 2.0))});
    REQUIRE(ask(self, shard, part_batch{{init}}).results.at(0).ok);
  }
  ~two_workers() {
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    reducers.stop();
  }
  std::tuple<caf::actor_system&, caf::scoped_actor&, shard_actor&> handles() {
    return {sys, self, shard};
  }
};

// Worker 0's push sent from another actor (it is answered only when the
// round completes), then `between`, then worker 1's push: both answers.
template <class Between>
std::pair<part_result, part_result> round_of_two(caf::actor_system& sys, caf::scoped_actor& self,
                                                 const shard_actor& shard, Between between) {
  caf::scoped_actor first{sys};
  first->send(shard, batch_atom::value, part_batch{{push_rows(0, {0, 2}, 1.0)}});
  between();
  auto second = ask(self, shard, part_batch{{push_rows(1, {2, 3}, 2.0)}});
  part_result one;
  first->receive([&](batch_reply& r) { one = r.results.at(0); },
                 caf::after(std::chrono::seconds(10)) >> [] { FAIL("worker 0's push unanswered"); });
  return {one, second.results.at(0)};
}

}  // namespace

TEST_CASE("a sync shard sums two workers' row pushes into one gradient for lazy sgd, every row "
          "counted as taken",
          "[server][sparse][optimizer]") {
  two_workers t;
  auto [sys, self, shard] = t.handles();  // references
  auto [one, two] = round_of_two(sys, self, shard, [] {});
  REQUIRE(one.ok);
  REQUIRE(two.ok);
  REQUIRE(one.gradient_rows == 2);
  REQUIRE(two.gradient_rows == 2);
  // Row 0: 2 - .5 * 1, row 1 untouched, row 2: 2 - .5 * (1 + 2), row 3: 2 - .5 * 2.
  std::vector<float> want = {1.5f, 1.5f, 1.5f, 2, 2, 2, 0.5f, 0.5f, 0.5f, 1, 1, 1};
  REQUIRE(pulled(self, shard) == want);
}

TEST_CASE("a sync shard whose updater stops taking rows in the middle of a round sums the held "
          "row pushes into the merge buffer, losing none",
          "[server][sparse][optimizer]") {
  two_workers t;
  auto [sys, self, shard] = t.handles();  // references
  // A user's updater (no rows taken): stored += the round's dense sum.
  auto adds_sum = spawn_function_updater(sys, [](const key&, const ndarray& grad, ndarray& stored) {
    auto g = grad.to_vector<float>();
    float* w = stored.data<float>();
    for (size_t i = 0; i < stored.size(); ++i)
      w[i] += g.at(i);
  });
  auto [one, two] = round_of_two(sys, self, shard, [&] {
    install(self, shard, updater_setting{adds_sum, 0, false});
  });
  REQUIRE(one.ok);
  REQUIRE(two.ok);
  REQUIRE(one.gradient_rows == 0);
  REQUIRE(two.gradient_rows == 0);
  std::vector<float> want = {3, 3, 3, 2, 2, 2, 5, 5, 5, 4, 4, 4};
  REQUIRE(pulled(self, shard) == want);
}
