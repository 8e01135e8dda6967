// Review of issue 8 in the distributed stores: order between operations of
// different keys that share an array (DESIGN.md, "Values": reading waits for
// the last write, writing waits for pending reads), and zero-element keys.
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "../store/order_cases.hpp"
#include "local_cluster.hpp"

using namespace kvs;

// pull(1, x) then push(2, x): the push sends what the pull wrote. The
// serializer no longer waits for x, and the route orders only key 2's
// operations, so the push leaves with x's old contents.
TEST_CASE("dist_sync: a push of an array that an earlier pull of another key writes "
          "sends the pulled value",
          "[dist][order][review]") {
  local_cluster cluster{2, 2};
  cluster.timeout = std::chrono::milliseconds(5000);
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(std::vector<key>{1, 2}, {ndarray::full({2, 3}, 5.0), ndarray::zeros({2, 3})});
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
    for (int round = 1; round <= 3; ++round) {
      auto x = ndarray::zeros({2, 3});
      kv.pull(1, x);  // x = 5
      kv.push(2, x);  // each worker pushes 5
      auto y = ndarray::zeros({2, 3});
      kv.pull(2, y);
      order::check_array(
          y, [&](size_t) { return 10.0 * round; }, "key 2, round " + std::to_string(round));
    }
    kv.barrier();
  });
}

// dist_sync holds a key's second push until its first round completes; a
// pull of another key into that push's input must still wait for the push
// to read it.
TEST_CASE("dist_sync: a pull of another key does not overwrite the input of a push "
          "waiting for its round",
          "[dist][order][review]") {
  local_cluster cluster{2, 2};
  cluster.timeout = std::chrono::milliseconds(5000);
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(std::vector<key>{1, 2}, {ndarray::zeros({2, 3}), ndarray::full({2, 3}, 7.0)});
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
    if (kv.rank() == 1)  // holds round 1 of key 1 open on worker 0
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto a = ndarray::full({2, 3}, 1.0);
    auto b = ndarray::full({2, 3}, 2.0);
    kv.push(1, a);
    kv.push(1, b);  // must push 2
    kv.pull(2, b);  // b = 7 afterwards
    auto y = ndarray::zeros({2, 3});
    kv.pull(1, y);
    order::check_array(
        b, [](size_t) { return 7.0; }, "b");
    order::check_array(
        y, [](size_t) { return 6.0; }, "key 1 after two rounds");  // 2 * (1 + 2)
    kv.barrier();
  });
}

// The same with a row_sparse push: its rows are the dense array the pull
// writes into (the array they were made from), not the pushed array itself.
TEST_CASE("dist_sync: a pull of another key does not overwrite the rows of a row_sparse push "
          "waiting for its round",
          "[dist][order][review][sparse]") {
  local_cluster cluster{2, 2};
  cluster.timeout = std::chrono::milliseconds(5000);
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(1, ndarray::row_sparse({4, 3}, {}, ndarray::zeros({0, 3})));
    kv.init(2, ndarray::full({2, 3}, 7.0));
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
    if (kv.rank() == 1)  // holds round 1 of key 1 open on worker 0
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto a = ndarray::full({2, 3}, 1.0);
    auto b = ndarray::full({2, 3}, 2.0);
    kv.push(1, ndarray::row_sparse({4, 3}, {1, 3}, a));
    kv.push(1, ndarray::row_sparse({4, 3}, {1, 3}, b));  // must push 2
    kv.pull(2, b);  // b = 7 afterwards
    auto y = ndarray::zeros({4, 3});
    kv.pull(1, y);
    order::check_array(
        b, [](size_t) { return 7.0; }, "b");
    order::check_array(
        y, [](size_t i) { return i / 3 % 2 == 1 ? 6.0 : 0.0; }, "key 1 after two rounds");
    kv.barrier();
  });
}

// Zero-element keys: per-device push (the pre-sum stage), pull, pushpull.
TEST_CASE("dist_sync: a zero-element key goes through every stage", "[dist][order][review]") {
  local_cluster cluster{2, 2};
  cluster.timeout = std::chrono::milliseconds(5000);
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(7, ndarray::zeros({0, 3}));
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
    for (int round = 0; round < 3; ++round) {
      kv.push(7, std::vector<ndarray>{ndarray::zeros({0, 3}, dtype::f32, cpu(0)),
                                      ndarray::zeros({0, 3}, dtype::f32, cpu(1))});
      auto out = ndarray::zeros({0, 3});
      kv.pull(7, out);
      kv.pushpull(7, out);
      out.wait_to_read();
    }
    kv.wait_all();
    kv.barrier();
  });
}

// dist_sync lets workers push keys in different orders (the server keeps one
// round per key). With a full dispatch window, each worker's in-flight push
// waits for the other worker's push of that key, which waits in the other
// worker's queue for a place in its window. The default window (1024
// operations, 128 MiB) fills the same way with two keys of 80 MB each.
TEST_CASE("dist_sync: workers that push two keys in opposite orders through a full "
          "window both finish",
          "[dist][order][review]") {
  local_cluster cluster{2, 1};
  cluster.timeout = std::chrono::milliseconds(5000);
  cluster.run(
      "dist_sync",
      [](kvstore& kv) {
        kv.init(std::vector<key>{1, 2}, {ndarray::zeros({2, 3}), ndarray::zeros({2, 3})});
        kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
        std::vector<key> order = kv.rank() == 0 ? std::vector<key>{1, 2} : std::vector<key>{2, 1};
        for (auto& k : order)
          kv.push(k, ndarray::full({2, 3}, 1.0));
        kv.wait_all();  // throws the pushes' failure (a timeout after 2 * request_timeout)
        for (int k : {1, 2}) {
          auto out = ndarray::zeros({2, 3});
          kv.pull(k, out);
          order::check_array(
              out, [](size_t) { return 2.0; }, "key " + std::to_string(k));
        }
        kv.barrier();
      },
      [](config& cfg) { cfg.max_inflight_bytes = 24; });  // one 2x3 f32 key at a time
}
