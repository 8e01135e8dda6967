// A shard's rounds after a failure: a round missing a worker fails at the
// timeout naming the key and the ranks (and is reported while it waits);
// work that a timed-out operation left queued on a reducer never writes.
#include <catch2/catch.hpp>

#include <future>

#include <caf/all.hpp>

#include "../stderr_capture.hpp"
#include "../test_config.hpp"
#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "shard_driver.hpp"

using namespace kvs;
using namespace std::chrono;

namespace {

part_request push(int k, int worker, double v) {
  auto r = request(part_op::push, k, {array_view::whole(ndarray::full({4}, v))});
  r.worker = worker;
  return r;
}

part_request pull(int k, int worker, const ndarray& out) {
  auto r = request(part_op::pull, k, {}, {array_view::whole(out)});
  r.worker = worker;
  return r;
}

// A reducer that holds every job until `gate` opens, then hands it to `real`.
reducer_actor::behavior_type gate_in_front(reducer_actor::pointer self, reducer_actor real,
                                           std::shared_future<void> gate) {
  return {
      [=](reduce_atom a, reduce_job& job) -> caf::delegated<ok_atom> {
        gate.wait();
        return self->delegate(real, a, std::move(job));
      },
      [=](copy_atom a, copy_job& job) -> caf::delegated<ok_atom> {
        gate.wait();
        return self->delegate(real, a, std::move(job));
      },
  };
}

}  // namespace

TEST_CASE("a round missing workers fails at the timeout naming the key and their ranks, is "
          "reported while it waits, and the next round completes exactly",
          "[server][timing]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.num_workers = 3;
  opts.request_timeout = milliseconds(1000);
  opts.stall_warning = milliseconds(100);
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 5, {array_view::whole(ndarray::zeros({4}))})}})
              .results.at(0)
              .ok);
  stderr_capture err;
  auto t0 = steady_clock::now();
  auto first = ask(self, shard, part_batch{{push(5, 0, 1.0)}});
  auto took = steady_clock::now() - t0;
  require_failure(first.results.at(0), errc::timeout, {"the round of key 5", "worker ranks 1, 2"});
  REQUIRE(took >= milliseconds(900));
  REQUIRE(took < milliseconds(5000));
  INFO(err.text());
  REQUIRE(err.lines_with("kvs: stall: the round of key 5 has waited") >= 2);
  REQUIRE(err.lines_with("for worker ranks 1, 2") >= 2);
  // The key is usable: worker 0 is not refused as pushing twice, the failed
  // round's push is gone (3 + 2 + 1, not 7), no stall report follows.
  auto reports = err.lines_with("kvs: stall:");
  auto out = ndarray::full({4}, -1.0);
  auto next = ask(self, shard, part_batch{{push(5, 1, 2.0), push(5, 2, 3.0), push(5, 0, 1.0), pull(5, 0, out)}});
  for (auto& r : next.results)
    REQUIRE(r.ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(4, 6.0f));
  std::this_thread::sleep_for(milliseconds(300));
  REQUIRE(err.lines_with("kvs: stall:") == reports);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  reducers.stop();
}

TEST_CASE("a sum or copy still queued on the reducer at its deadline never writes: the stored "
          "value and the caller's array stay as they were",
          "[server][timing]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::promise<void> open;
  auto gate = open.get_future().share();
  auto real = spawn_cpu_reducer(sys, 1, 1000000);
  reducer_set reducers{sys.spawn<caf::detached>(gate_in_front, real, gate), {}};
  shard_options opts;
  opts.inline_bound = 0;  // every sum and copy goes to the (gated) reducer
  opts.request_timeout = milliseconds(200);
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::full({4}, 1.0))})}})
              .results.at(0)
              .ok);
  // The push's sum (straight into the stored value) and the pull's copy wait
  // at the gate past their deadline: both fail with timeout.
  require_failure(ask(self, shard, part_batch{{push(1, 0, 5.0)}}).results.at(0), errc::timeout, {"reduce"});
  auto late = ndarray::full({4}, -1.0);
  require_failure(ask(self, shard, part_batch{{pull(1, 0, late)}}).results.at(0), errc::timeout, {"copy"});
  // The gate opens: both jobs reach the reducer, withdrawn; then a pull.
  open.set_value();
  auto out = ndarray::full({4}, -1.0);
  REQUIRE(ask(self, shard, part_batch{{pull(1, 0, out)}}).results.at(0).ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(4, 1.0f));   // the push never landed
  REQUIRE(late.to_vector<float>() == std::vector<float>(4, -1.0f));  // nor the failed pull's copy
  // And the key serves pushes again.
  auto again = ndarray::full({4}, -1.0);
  auto r = ask(self, shard, part_batch{{push(1, 0, 7.0), pull(1, 0, again)}});
  REQUIRE(r.results.at(0).ok);
  REQUIRE(again.to_vector<float>() == std::vector<float>(4, 7.0f));
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  reducers.stop();
  caf::anon_send_exit(real, caf::exit_reason::user_shutdown);
}
