#include <catch2/catch.hpp>

#include <atomic>
#include <set>

#include "local_cluster.hpp"

using namespace kvs;

namespace {
// The test optimizer with rescale_grad 2, each worker pushing rank + 1: after
// round i every value is i * n * (n + 1).
void check_rounds(kvstore& kv, const std::vector<key>& keys, const std::vector<shape>& shapes,
                  int rounds) {
  std::vector<ndarray> init;
  for (auto& s : shapes)
    init.push_back(ndarray::zeros(s));
  kv.init(keys, init);
  kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 2}}));
  int n = kv.num_workers();
  for (int i = 1; i <= rounds; ++i) {
    std::vector<ndarray> grads, outs;
    for (auto& s : shapes) {
      grads.push_back(ndarray::full(s, kv.rank() + 1));
      outs.push_back(ndarray::zeros(s));
    }
    kv.push(keys, grads);
    kv.pull(keys, outs);
    for (auto& o : outs) {
      auto v = o.to_vector<float>();
      float want = static_cast<float>(i * n * (n + 1));
      EXPECT(v.front() == want);
      EXPECT(v.back() == want);
      EXPECT(v[v.size() / 2] == want);
    }
  }
}
}  // namespace

TEST_CASE("dist_sync rounds give exact values on small keys", "[dist]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_sync", [](kvstore& kv) {
    EXPECT(kv.type() == "dist_sync");
    EXPECT(kv.num_workers() == 2);
    check_rounds(kv, {3, 5, 7, 9}, {{2, 3}, {4}, {1}, {10}}, 5);
  });
}

TEST_CASE("dist_sync splits big arrays evenly and unevenly across servers", "[dist][slow]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_sync", [](kvstore& kv) {
    check_rounds(kv, {1, 2}, {{1200, 1200}, {1211, 1211}}, 3);
  });
}

TEST_CASE("dist_sync works with string keys", "[dist]") {
  local_cluster cluster{2, 1};
  cluster.run("dist_sync", [](kvstore& kv) {
    check_rounds(kv, {"weight", "bias"}, {{3, 3}, {3}}, 3);
  });
}

TEST_CASE("worker ranks are unique and complete", "[dist]") {
  local_cluster cluster{3, 1};
  std::mutex mtx;
  std::set<int> ranks;
  cluster.run("dist_sync", [&](kvstore& kv) {
    std::lock_guard<std::mutex> guard{mtx};
    ranks.insert(kv.rank());
    EXPECT(kv.num_workers() == 3);
    EXPECT(kv.local_rank() == kv.rank());  // all on one host
  });
  REQUIRE(ranks == std::set<int>{0, 1, 2});
}

TEST_CASE("init takes rank 0's value and broadcast reaches every worker", "[dist]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(4, ndarray::full({3}, 10.0 + kv.rank()));
    auto out = ndarray::zeros({3});
    kv.pull(4, out);
    EXPECT(out.to_vector<float>() == std::vector<float>(3, 10.0f));
    auto b = ndarray::zeros({2, 2});
    kv.broadcast(5, ndarray::full({2, 2}, 7.0 + kv.rank()), b);
    EXPECT(b.to_vector<float>() == std::vector<float>(4, 7.0f));
  });
}

TEST_CASE("without an optimizer a dist_sync round stores the sum of all workers", "[dist]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(0, ndarray::zeros({5}));
    auto out = ndarray::zeros({5});
    kv.pushpull(0, ndarray::full({5}, kv.rank() + 1), out);
    EXPECT(out.to_vector<float>() == std::vector<float>(5, 3.0f));
    kv.barrier();
    kv.pushpull(0, std::vector<ndarray>{ndarray::full({5}, 1.0), ndarray::full({5}, 2.0)}, {out});
    EXPECT(out.to_vector<float>() == std::vector<float>(5, 6.0f));
  });
}

TEST_CASE("dist_async applies every push and needs an optimizer", "[dist]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_async", [](kvstore& kv) {
    kv.init(0, ndarray::zeros({4}));
    kv.push(0, ndarray::full({4}, 1.0));
    expect_error([&] { kv.wait_all(); }, errc::invalid_argument, {"set_optimizer"});
    kv.barrier();
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
    for (int i = 0; i < 10; ++i)
      kv.push(0, ndarray::full({4}, kv.rank() + 1));
    kv.wait_all();
    kv.barrier();
    auto out = ndarray::zeros({4});
    kv.pull(0, out);
    EXPECT(out.to_vector<float>() == std::vector<float>(4, 30.0f));  // 10 * (1 + 2)
  });
}

TEST_CASE("send_command_to_servers changes how every server runs updates", "[dist]") {
  local_cluster cluster{1, 2};
  cluster.run("dist_sync", [](kvstore& kv) {
    // Keys 0..3 land on both servers ((key * 9973) % 2 alternates).
    kv.init({0, 1, 2, 3}, {ndarray::zeros({4}), ndarray::zeros({4}),
                           ndarray::full({4}, 1.0, dtype::f16), ndarray::full({4}, 1.0, dtype::f16)});
    auto out = ndarray::zeros({4});
    auto value = [&](const key& k, const ndarray& o) {
      kv.pull(k, o);
      return o.to_vector<double>();
    };
    auto four = [](double v) { return std::vector<double>(4, v); };
    // 3: sync mode. Async ("0") applies pushes by the optimizer, so without
    // one a push fails; sync ("1") stores the round's sum again.
    kv.send_command_to_servers(3, "0");
    for (int k : {0, 1}) {
      kv.push(k, ndarray::full({4}, 1.0));
      expect_error([&] { kv.wait_all(); }, errc::invalid_argument, {"set_optimizer"});
    }
    kv.send_command_to_servers(3, "1");
    for (int k : {0, 1}) {
      kv.push(k, ndarray::full({4}, 5.0));
      EXPECT(value(k, out) == four(5));
    }
    // 0: set the optimizer (w += 2 g) from its serialized form.
    kv.send_command_to_servers(0, create_optimizer("test", {{"rescale_grad", 2}})->serialize());
    for (int k : {0, 1}) {
      kv.push(k, ndarray::full({4}, 1.0));
      EXPECT(value(k, out) == four(7));
    }
    // 1: multi-precision. An f16 weight of 1 takes steps of 2 * 2^-13 =
    // 2^-12, a quarter of its ulp: rounded each step it stays 1; with an fp32
    // master copy four steps make 1 + 2^-10.
    auto half = ndarray::zeros({4}, dtype::f16);
    auto step = ndarray::full({4}, 1.0 / 8192, dtype::f16);
    for (int i = 0; i < 4; ++i)
      kv.push(2, step);
    EXPECT(value(2, half) == four(1.0));
    kv.send_command_to_servers(1, "");
    for (int i = 0; i < 4; ++i)
      kv.push(3, step);
    EXPECT(value(3, half) == four(1.0 + 1.0 / 1024));
    expect_error([&] { kv.send_command_to_servers(42, "x"); }, errc::invalid_argument,
                 {"unknown server command head 42"});
    expect_error([&] { kv.set_updater([](const key&, const ndarray&, ndarray&) {}); },
                 errc::unsupported, {"set_optimizer"});
  });
}

TEST_CASE("dist_device_sync runs dist_sync rounds (host arrays here)", "[dist]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_device_sync", [](kvstore& kv) {
    EXPECT(kv.type() == "dist_device_sync");
    check_rounds(kv, {1, 2}, {{3, 3}, {1100, 1000}}, 2);
  });
}

// MXNet's dist store waits at a barrier before it exits, so a worker that is
// done first cannot end the job under the others.
TEST_CASE("a worker that finishes first leaves the servers to the others", "[dist]") {
  local_cluster cluster{2, 2};
  cluster.timeout = std::chrono::milliseconds(5000);
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(1, ndarray::full({3}, 5.0));
    if (kv.rank() == 0)
      return;  // its store ends here
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto out = ndarray::zeros({3});
    kv.pull(1, out);
    EXPECT(out.to_vector<float>() == std::vector<float>(3, 5.0f));
  });
}
