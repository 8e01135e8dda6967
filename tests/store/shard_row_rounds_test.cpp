// A sync shard's rounds of several workers' row pushes (actors/round_rows.cpp),
// driven directly: held as they came and summed into one compact gradient
// for the built-in lazy optimizer, every pushed row counted as taken; and a
// round whose rows were held when the updater was replaced by one that does
// not take rows sums them into the merge buffer, losing none; and a round
// whose held row pushes a failed sum consumed fails as a whole.
#include <catch2/catch.hpp>

#include <tuple>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/function_updater.hpp"
#include "actors/key_shard.hpp"
#include "actors/optimizer_updater.hpp"
#include "core/array_impl.hpp"
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

// A push that sums the round's held row pushes into the merge buffer
// (worker 1's dense push) and fails doing so has consumed them: the whole
// round fails (key_push.cpp, round_spoiled), every push and pull it held is
// answered with the error, and nothing stays held. No input that passes the
// checks on arrival makes that sum fail, so the held push's array is
// spoiled behind the shard's back (its dtype changed, as corrupted memory
// would), after the shard held it.
TEST_CASE("a sync shard fails the whole round when summing its held row pushes fails, answering "
          "every held push and pull",
          "[server][sparse][optimizer]") {
  two_workers t;
  auto [sys, self, shard] = t.handles();  // references
  auto rows0 = ndarray::full({2, 3}, 1.0);
  auto push0 = push_rows(0, {0, 2}, 0);
  push0.inputs = {array_view::whole(rows0)};
  auto out0 = ndarray::zeros({2, 3});
  auto pull0 = request(part_op::pull_rows, 1, {}, {array_view::whole(out0)});
  pull0.rows = {0, 2};
  pull0.worker = 0;
  caf::scoped_actor first{sys};
  first->send(shard, batch_atom::value, part_batch{{push0, pull0}});
  // Worker 1's pull is answered at once (it has not pushed): the shard has
  // held worker 0's push and pull by then.
  auto seen = ndarray::zeros({4, 3});
  auto probe = request(part_op::pull, 1, {}, {array_view::whole(seen)});
  probe.worker = 1;
  REQUIRE(ask(self, shard, part_batch{{probe}}).results.at(0).ok);
  detail::ndarray_access::impl(rows0).type = dtype::i32;
  auto dense = request(part_op::push, 1, {array_view::whole(ndarray::full({4, 3}, 2.0))});
  dense.worker = 1;
  require_failure(ask(self, shard, part_batch{{dense}}).results.at(0), errc::dtype_mismatch,
                  {"scatter of rows"});
  batch_reply held;
  first->receive([&](batch_reply& r) { held = std::move(r); },
                 caf::after(std::chrono::seconds(10)) >> [] { FAIL("the held push and pull unanswered"); });
  REQUIRE(held.results.size() == 2);
  for (auto& r : held.results)
    require_failure(r, errc::dtype_mismatch, {"scatter of rows", "the round of key 1 cannot complete"});
  detail::ndarray_access::impl(rows0).type = dtype::f32;
  // Nothing of the failed round was kept: a new round of two row pushes
  // updates the value as from the start.
  auto [one, two] = round_of_two(sys, self, shard, [] {});
  REQUIRE(one.ok);
  REQUIRE(two.ok);
  std::vector<float> want = {1.5f, 1.5f, 1.5f, 2, 2, 2, 0.5f, 0.5f, 0.5f, 1, 1, 1};
  REQUIRE(pulled(self, shard) == want);
}

// Pulls of rows held by a round of row pushes are answered after its update
// (key_round.cpp, gather_answer): one into an output too small for its rows
// fails on its own; the update, the pushes and the other pulls go on.
TEST_CASE("a sync shard's held pull of rows into a too small output fails alone; the round's "
          "update and its other pulls go on",
          "[server][sparse][optimizer]") {
  two_workers t;
  auto [sys, self, shard] = t.handles();  // references
  auto small = ndarray::full({1, 3}, -9.0);
  auto fits = ndarray::full({3, 3}, -9.0);
  auto bad = request(part_op::pull_rows, 1, {}, {array_view::whole(small)});
  bad.rows = {0, 2};
  auto good = request(part_op::pull_rows, 1, {}, {array_view::whole(fits)});
  good.rows = {1, 2, 3};  // row 1 pushed by nobody, row 3 by worker 1 only
  caf::scoped_actor first{sys};
  first->send(shard, batch_atom::value, part_batch{{push_rows(0, {0, 2}, 1.0), bad, good}});
  auto second = ask(self, shard, part_batch{{push_rows(1, {2, 3}, 2.0)}});
  batch_reply held;
  first->receive([&](batch_reply& r) { held = std::move(r); },
                 caf::after(std::chrono::seconds(10)) >> [] { FAIL("worker 0's batch unanswered"); });
  REQUIRE(second.results.at(0).ok);
  REQUIRE(held.results.at(0).ok);
  require_failure(held.results.at(1), errc::invalid_argument, {"a pull of 2 rows of key 1 into 3"});
  REQUIRE(held.results.at(2).ok);
  REQUIRE(fits.to_vector<float>() == std::vector<float>{2, 2, 2, 0.5f, 0.5f, 0.5f, 1, 1, 1});
  std::vector<float> want = {1.5f, 1.5f, 1.5f, 2, 2, 2, 0.5f, 0.5f, 0.5f, 1, 1, 1};
  REQUIRE(pulled(self, shard) == want);
}
