// The transport a distributed job chose (KVS_TRANSPORT; CTest runs every
// [dist] case under caf and under ucx): big keys split across servers and
// small ones fused, pushpull, push then pull, exact whichever plane carries
// the bytes; and each worker says on stderr which plane carries them.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <numeric>

#include "local_cluster.hpp"

using namespace kvs;

TEST_CASE("dist_sync is exact over the chosen transport, and each worker says which it chose",
          "[dist]") {
  cerr_capture log;
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 1000; };
  cluster.run("dist_sync", [](kvstore& kv) {
    const int64_t big = 250001, small = 7;  // big: split in two uneven parts
    kv.init(std::vector<key>{1, 2}, {ndarray::zeros({big}), ndarray::zeros({small})});
    int n = kv.num_workers();
    std::vector<float> ramp(big);
    std::iota(ramp.begin(), ramp.end(), 0.0f);
    for (int round = 1; round <= 4; ++round) {
      // Worker r pushes ramp * (r + 1): the sum is ramp * n (n + 1) / 2.
      std::vector<float> mine(ramp);
      for (auto& x : mine)
        x *= static_cast<float>(kv.rank() + 1);
      auto g_big = ndarray::from_vector<float>(mine, {big});
      auto g_small = ndarray::full({small}, kv.rank() + 1);
      auto o_big = ndarray::zeros({big}), o_small = ndarray::zeros({small});
      if (round % 2 == 1) {
        kv.pushpull(std::vector<key>{1, 2}, {g_big, g_small}, {o_big, o_small});
      } else {
        kv.push(std::vector<key>{1, 2}, {g_big, g_small});
        kv.pull(std::vector<key>{1, 2}, {o_big, o_small});
      }
      auto got = o_big.to_vector<float>();
      float scale = static_cast<float>(n * (n + 1) / 2);
      for (int64_t i = 0; i < big; i += 997)
        EXPECT(got[static_cast<size_t>(i)] == ramp[static_cast<size_t>(i)] * scale);
      EXPECT(got.back() == ramp.back() * scale);
      for (float x : o_small.to_vector<float>())
        EXPECT(x == scale);
    }
  });
  const char* t = std::getenv("KVS_TRANSPORT");
  std::string transport = t ? t : "auto";
  INFO(log.text());
  if (transport == "ucx")
    REQUIRE(log.lines_with("data plane: parts of") == 2);
  if (transport == "ucx")
    REQUIRE(log.lines_with("over UCX") == 2);
  if (transport == "caf")
    REQUIRE(log.lines_with("data plane") == 0);
}
