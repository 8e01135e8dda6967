// The two tests that pin the design down: operations are asynchronous, and
// priorities order dispatch across keys.
#include <catch2/catch.hpp>

#include <future>
#include <mutex>

#include "../test_config.hpp"

using namespace kvs;
using namespace std::chrono;

TEST_CASE("push returns at once while a later pull's output waits for a blocked updater",
          "[store][scheduling]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::full({4}, 1.0));
  std::promise<void> latch;
  auto opened = latch.get_future().share();
  kv->set_updater([opened](const key&, const ndarray& in, ndarray& stored) {
    opened.wait();
    auto g = in.to_vector<float>();
    float* s = stored.data<float>();
    for (size_t i = 0; i < g.size(); ++i)
      s[i] += g[i];
  });
  auto t0 = steady_clock::now();
  kv->push(1, ndarray::full({4}, 2.0));
  auto push_took = steady_clock::now() - t0;
  REQUIRE(push_took < milliseconds(10));
  auto out = ndarray::zeros({4});
  kv->pull(1, out);
  auto reader = std::async(std::launch::async, [out] { return out.to_vector<float>(); });
  REQUIRE(reader.wait_for(milliseconds(200)) == std::future_status::timeout);
  latch.set_value();
  REQUIRE(reader.wait_for(seconds(10)) == std::future_status::ready);
  REQUIRE(reader.get() == std::vector<float>(4, 3.0f));
}

TEST_CASE("a high-priority push overtakes queued low-priority pushes of other keys",
          "[store][scheduling]") {
  auto cfg = test_config();
  cfg.max_inflight = 1;
  auto kv = create("local", cfg);
  std::vector<key> keys;
  std::vector<ndarray> vals;
  for (int i = 0; i <= 100; ++i) {
    keys.push_back(i);
    vals.push_back(ndarray::zeros({2}));
  }
  kv->init(keys, vals);
  std::mutex mtx;
  std::vector<int64_t> log;
  kv->set_updater([&](const key& k, const ndarray&, ndarray&) {
    std::this_thread::sleep_for(microseconds(500));
    std::lock_guard<std::mutex> guard{mtx};
    log.push_back(k.as_int());
  });
  for (int i = 0; i < 100; ++i)
    kv->push(i, ndarray::full({2}, 1.0), -1);
  kv->push(100, ndarray::full({2}, 1.0), 10);
  kv->wait_all();
  REQUIRE(log.size() == 101);
  auto pos = std::find(log.begin(), log.end(), 100) - log.begin();
  INFO("the high-priority push ran at position " << pos);
  REQUIRE(100 - pos >= 90);
}

TEST_CASE("operations on one key keep call order whatever their priority", "[store][scheduling]") {
  auto cfg = test_config();
  cfg.max_inflight = 1;
  auto kv = create("local", cfg);
  kv->init(7, ndarray::zeros({1}));
  std::vector<ndarray> outs;
  for (int i = 1; i <= 20; ++i) {
    kv->push(7, ndarray::full({1}, i), i % 2 == 0 ? 100 : -100);
    outs.push_back(ndarray::zeros({1}));
    kv->pull(7, outs.back(), i % 3 == 0 ? 50 : -50);
  }
  for (int i = 1; i <= 20; ++i)
    REQUIRE(outs[i - 1].to_vector<float>()[0] == static_cast<float>(i));
}
