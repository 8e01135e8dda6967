// Review of issue 8: order between operations of different keys that share
// an array. DESIGN.md ("Values"): "Pending operations mark it, so reading
// waits for the last write and writing waits for pending reads" -- what
// MXNet's engine does with its variables. The worker's route orders only the
// operations of one key.
#include <atomic>
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "../test_config.hpp"

using namespace kvs;

namespace {

// An updater that is slow on key 1 and adds on every key.
updater slow_on_key_1() {
  return [](const key& k, const ndarray& recv, ndarray& stored) {
    if (k == key(1))
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto in = recv.to_vector<float>();
    auto* w = stored.data<float>();
    for (size_t i = 0; i < in.size(); ++i)
      w[i] += in[i];
  };
}

}  // namespace

// pull(1, x) then push(2, x): the push must send what the pull wrote.
TEST_CASE("local: a push of an array that an earlier pull of another key writes sends "
          "the pulled value",
          "[order][review]") {
  auto kv = create("local", test_config());
  kv->init(std::vector<key>{1, 2}, {ndarray::zeros({2, 3}), ndarray::zeros({2, 3})});
  kv->set_updater(slow_on_key_1());
  kv->push(1, ndarray::full({2, 3}, 5.0));  // key 1 becomes 5, slowly
  auto x = ndarray::zeros({2, 3});
  kv->pull(1, x);  // x = 5 once key 1's update is over
  kv->push(2, x);  // reads x: must read 5
  auto y = ndarray::zeros({2, 3});
  kv->pull(2, y);
  auto xv = x.to_vector<float>();
  auto yv = y.to_vector<float>();
  INFO("x[0] = " << xv[0] << ", y[0] = " << yv[0]);
  CHECK(xv == std::vector<float>(6, 5.0f));
  CHECK(yv == std::vector<float>(6, 5.0f));
}

// push(2, b) then pull(3, b) with a higher priority while the window is full:
// the pull must not write b before the push has read it.
TEST_CASE("local: a higher-priority pull of another key does not overwrite a queued "
          "push's input",
          "[order][review]") {
  auto cfg = test_config();
  cfg.max_inflight = 1;
  auto kv = create("local", cfg);
  kv->init(std::vector<key>{1, 2, 3},
           {ndarray::zeros({2, 3}), ndarray::zeros({2, 3}), ndarray::full({2, 3}, 7.0)});
  kv->set_updater(slow_on_key_1());
  kv->push(1, ndarray::full({2, 3}, 1.0));  // holds the window (one operation) for 300 ms
  auto b = ndarray::full({2, 3}, 2.0);
  kv->push(2, b, 0);
  kv->pull(3, b, 10);  // b = 7, but only after push(2, b) has read 2
  auto y = ndarray::zeros({2, 3});
  kv->pull(2, y);
  REQUIRE(b.to_vector<float>() == std::vector<float>(6, 7.0f));
  REQUIRE(y.to_vector<float>() == std::vector<float>(6, 2.0f));
}

// The same key alone: a pull after a push whose (function) updater is slow.
TEST_CASE("local: a pull after a push waits for the push's slow updater",
          "[order][review]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::zeros({2, 3}));
  kv->set_updater(slow_on_key_1());
  kv->push(1, ndarray::full({2, 3}, 5.0));
  auto x = ndarray::zeros({2, 3});
  kv->pull(1, x);
  REQUIRE(x.to_vector<float>() == std::vector<float>(6, 5.0f));
}

// Diagnostic: as the first case, without the push of x to key 2.
TEST_CASE("local: two keys, a pull after a push waits for the push's slow updater",
          "[order][review]") {
  auto kv = create("local", test_config());
  kv->init(std::vector<key>{1, 2}, {ndarray::zeros({2, 3}), ndarray::zeros({2, 3})});
  kv->set_updater(slow_on_key_1());
  kv->push(1, ndarray::full({2, 3}, 5.0));
  auto x = ndarray::zeros({2, 3});
  kv->pull(1, x);
  auto xv = x.to_vector<float>();
  INFO("x[0] = " << xv[0]);
  CHECK(xv == std::vector<float>(6, 5.0f));
}
