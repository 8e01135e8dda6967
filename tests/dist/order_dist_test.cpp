// Per-key order in the distributed stores (MXNet issue 8: Module's loop,
// push(k, per-device grads) then pull(k, weights), must see its own round).
// In-process clusters of 2 workers and 2 servers; workers split arrays of at
// least order::split_bound elements, so split keys stay small. Every worker
// body ends with a barrier, as MXNet's store does before it exits: today a
// worker that leaves first takes the servers away from the others (see
// "a worker that finishes first leaves the servers to the others" in
// dist_sync_test.cpp).
#include <catch2/catch.hpp>

#include "../store/order_cases.hpp"
#include "../store/order_random.hpp"
#include "local_cluster.hpp"

using namespace kvs;

namespace {

void small_split_bound(config& cfg) {
  cfg.bigarray_bound = order::split_bound;
  cfg.inline_bound = 100;
}

void run_case(const std::string& type, order::kind c, int workers = 2) {
  local_cluster cluster{workers, 2};
  cluster.run(
      type,
      [&](kvstore& kv) {
        order::runner(kv, order::shapes(), type == "dist_async").run(c, 5);
        kv.barrier();
      },
      small_split_bound);
}

// pushpull(k, x) with x as both the value and the output, alone or with other
// keys in one list call: what MXNet's kv.pushpull(k, x) does.
void in_place_one_array(const std::string& type) {
  local_cluster cluster{2, 2};
  cluster.timeout = std::chrono::milliseconds(5000);
  cluster.run(
      type,
      [&](kvstore& kv) {
        kv.init(std::vector<key>{1, 2, 3}, {ndarray::zeros({2, 3}), ndarray::zeros({40, 30}),
                                            ndarray::zeros({2, 3})});
        kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
        auto small = ndarray::full({2, 3}, kv.rank() + 1);
        auto split = ndarray::full({40, 30}, kv.rank() + 1);
        kv.pushpull(1, small);
        kv.pushpull(2, std::vector<ndarray>{split});
        auto a = ndarray::full({2, 3}, kv.rank() + 1);
        kv.pushpull(std::vector<key>{3}, std::vector<ndarray>{a});
        kv.wait_all();
        kv.barrier();
        // dist_sync: 1 + 2 from the round; dist_async: this worker's push at
        // least, everything once both are past the barrier.
        bool sync = type == "dist_sync";
        for (auto* x : {&small, &split, &a})
          order::check_array(
              *x, [&](size_t) { return sync ? 3.0 : std::nan(""); }, "in place");
        for (int k : {1, 2, 3}) {
          auto out = ndarray::zeros(k == 2 ? shape{40, 30} : shape{2, 3});
          kv.pull(k, out);
          order::check_array(
              out, [](size_t) { return 3.0; }, "key " + std::to_string(k));
        }
        kv.barrier();
      },
      small_split_bound);
}

}  // namespace

TEST_CASE("dist_sync: a per-device push is seen by the next pull", "[dist][order]") {
  run_case("dist_sync", order::kind::per_device_push_then_pull);
}
TEST_CASE("dist_sync: a single-array push is seen by the next pull", "[dist][order]") {
  run_case("dist_sync", order::kind::single_push_then_pull);
}
TEST_CASE("dist_sync: a pushpull after a push sees both", "[dist][order]") {
  run_case("dist_sync", order::kind::push_then_pushpull);
}
TEST_CASE("dist_sync: a pull right after init sees the initial value", "[dist][order]") {
  run_case("dist_sync", order::kind::init_then_pull);
}
TEST_CASE("dist_sync: pull, push, pull see the value before and after the push",
          "[dist][order]") {
  run_case("dist_sync", order::kind::pull_then_push_then_pull);
}

TEST_CASE("dist_async: a per-device push is seen by the next pull", "[dist][order]") {
  run_case("dist_async", order::kind::per_device_push_then_pull);
}
TEST_CASE("dist_async: a single-array push is seen by the next pull", "[dist][order]") {
  run_case("dist_async", order::kind::single_push_then_pull);
}
TEST_CASE("dist_async: a pushpull after a push sees both", "[dist][order]") {
  run_case("dist_async", order::kind::push_then_pushpull);
}
TEST_CASE("dist_async: a pull right after init sees the initial value", "[dist][order]") {
  run_case("dist_async", order::kind::init_then_pull);
}
TEST_CASE("dist_async: pull, push, pull see the value before and after the push",
          "[dist][order]") {
  run_case("dist_async", order::kind::pull_then_push_then_pull);
}

TEST_CASE("dist_device_sync: a per-device push is seen by the next pull (host arrays)",
          "[dist][order]") {
  run_case("dist_device_sync", order::kind::per_device_push_then_pull);
}
TEST_CASE("dist_device_sync: a single-array push is seen by the next pull (host arrays)",
          "[dist][order]") {
  run_case("dist_device_sync", order::kind::single_push_then_pull);
}
TEST_CASE("dist_device_sync: a pushpull after a push sees both (host arrays)", "[dist][order]") {
  run_case("dist_device_sync", order::kind::push_then_pushpull);
}
TEST_CASE("dist_device_sync: a pull right after init sees the initial value (host arrays)",
          "[dist][order]") {
  run_case("dist_device_sync", order::kind::init_then_pull);
}
TEST_CASE("dist_device_sync: pull, push, pull see the value before and after the push (host arrays)",
          "[dist][order]") {
  run_case("dist_device_sync", order::kind::pull_then_push_then_pull);
}

// The issue's own numbers: 4 devices, g = rank + 1, 1200x1200 split at the
// default bound; after one round every element is 4 * (1 + 2) = 12.
TEST_CASE("dist_sync: Module's loop on a 1200x1200 key split at the default bound",
          "[dist][order]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_sync", [](kvstore& kv) {
    shape s{1200, 1200};
    kv.init(3, ndarray::zeros(s));
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
    for (int i = 1; i <= 2; ++i) {
      std::vector<ndarray> grads;
      for (int d = 0; d < 4; ++d)
        grads.push_back(ndarray::full(s, kv.rank() + 1, dtype::f32, cpu(d)));
      auto w = ndarray::zeros(s);
      kv.push(3, grads);
      kv.pull(3, w);
      order::check_array(
          w, [&](size_t) { return 12.0 * i; }, "round " + std::to_string(i));
    }
    kv.barrier();
  });
}

TEST_CASE("dist_sync: an in-place pushpull of one array fills it", "[dist][order]") {
  in_place_one_array("dist_sync");
}
TEST_CASE("dist_async: an in-place pushpull of one array fills it", "[dist][order]") {
  in_place_one_array("dist_async");
}

// Without waiting in between: each in-place pushpull must push the value the
// one before wrote, and a push of an array just pulled into must send the
// pulled value, though the requests go to another process.
TEST_CASE("dist_sync: repeated in-place pushpulls and a push of a just-pulled array read what was written",
          "[dist][order]") {
  local_cluster cluster{2, 2};
  cluster.run(
      "dist_sync",
      [](kvstore& kv) {
        kv.init(std::vector<key>{1, 2}, {ndarray::zeros({2, 3}), ndarray::zeros({40, 30})});
        for (int k : {1, 2}) {
          shape s = k == 1 ? shape{2, 3} : shape{40, 30};
          auto x = ndarray::full(s, 1);
          for (int r = 0; r < 6; ++r)
            kv.pushpull(k, x);  // no updater: stored = sum over workers, x doubles
          order::check_array(
              x, [](size_t) { return 64.0; }, "key " + std::to_string(k) + " in place");
          auto y = ndarray::zeros(s);
          kv.pull(k, y);  // 64
          kv.push(k, y);  // must push 64: the pulled value
          auto z = ndarray::zeros(s);
          kv.pull(k, z);
          order::check_array(
              z, [](size_t) { return 128.0; }, "key " + std::to_string(k) + " pull then push");
        }
        kv.barrier();
      },
      small_split_bound);
}

TEST_CASE("dist_sync: an in-place list pushpull of keys sharing their arrays takes every push first",
          "[dist][order]") {
  local_cluster cluster{2, 2};
  cluster.run(
      "dist_sync",
      [](kvstore& kv) {
        for (auto s : {shape{2, 3}, shape{40, 30}}) {
          int first = s[0] == 2 ? 1 : 11;
          std::vector<key> keys{first, first + 1};
          kv.init(keys, {ndarray::zeros(s), ndarray::zeros(s)});
          auto both = ndarray::full(s, 1.0);
          // Without an optimizer a round stores the sum of every worker's push: 2 + 2.
          kv.pushpull(keys, std::vector<std::vector<ndarray>>{{both, both}, {both, both}});
          order::check_array(
              both, [](size_t) { return 4.0; }, "the shared array");
          for (auto& k : keys) {
            auto out = ndarray::zeros(s);
            kv.pull(k, out);
            order::check_array(
                out, [](size_t) { return 4.0; }, "key " + k.to_string());
          }
        }
        kv.barrier();
      },
      small_split_bound);
}

TEST_CASE("dist_sync: an f16 key pulled into f32 and f64 outputs arrives converted",
          "[dist][order]") {
  local_cluster cluster{2, 2};
  cluster.run(
      "dist_sync",
      [](kvstore& kv) {
        for (auto s : {shape{2, 3}, shape{40, 30}}) {
          key k = s[0] == 2 ? 1 : 2;
          kv.init(k, ndarray::full(s, 3.0, dtype::f16));
          std::vector<ndarray> outs{ndarray::zeros(s, dtype::f32, cpu(0)),
                                    ndarray::zeros(s, dtype::f64, cpu(1))};
          kv.pull(k, outs);
          for (auto& o : outs)
            order::check_array(
                o, [](size_t) { return 3.0; }, "initial value of key " + k.to_string());
          kv.push(k, ndarray::full(s, kv.rank() + 1.5, dtype::f16));  // 1.5 + 2.5
          auto single = ndarray::zeros(s, dtype::f32);
          kv.pull(k, single);
          order::check_array(
              single, [](size_t) { return 4.0; }, "pushed value of key " + k.to_string());
        }
        kv.barrier();
      },
      small_split_bound);
}

namespace {
// The random sequences of tests/store/order_random.hpp on a cluster.
void random_on_cluster(const std::string& type, int workers) {
  local_cluster cluster{workers, 2};
  cluster.timeout = std::chrono::milliseconds(10000);
  auto seed = order::test_seed();
  CAPTURE(seed);
  cluster.run(
      type,
      [](kvstore& kv) {
        order::random_plan plan;
        order::random_run run(kv, plan);
        run.run();
        EXPECT(run.checked() > 1000);
        kv.barrier();
      },
      small_split_bound);
}
}  // namespace

TEST_CASE("dist_sync: random operations from three threads per worker match a sequential model",
          "[dist][order]") {
  random_on_cluster("dist_sync", 2);
}

// One worker: dist_async has no rounds, so the model is the sequential one.
TEST_CASE("dist_async: random operations from three threads match a sequential model",
          "[dist][order]") {
  random_on_cluster("dist_async", 1);
}
