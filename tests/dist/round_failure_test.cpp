// After a failed dist_sync round the key is usable (docs/distributed.md,
// "After a failed round"): a round that misses a worker's push fails at the
// servers' request timeout naming the key and the rank, is reported on
// stderr while it waits, and the next round of the key completes exactly.
#include <catch2/catch.hpp>

#include "../stderr_capture.hpp"
#include "local_cluster.hpp"

using namespace kvs;
using namespace std::chrono;

TEST_CASE("dist_sync: a round missing one worker's push fails with timeout naming the key and "
          "the rank, and the next round of the key completes exactly",
          "[dist][failure]") {
  local_cluster cluster{2, 1};
  cluster.timeout = milliseconds(3000);
  cluster.stall_warning = milliseconds(500);
  stderr_capture err;
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(3, ndarray::zeros({4}));
    kv.init(4, ndarray::zeros({4}));
    if (kv.rank() == 0) {  // rank 1 skips this round of key 3
      auto out = ndarray::full({4}, -1.0);
      kv.pushpull(3, ndarray::full({4}, 1.0), out);
      expect_error([&] { out.wait_to_read(); }, errc::timeout, {"key 3", "worker ranks 1"});
    }
    kv.barrier();
    float mine = static_cast<float>(kv.rank() + 1);
    auto out = ndarray::zeros({4});
    kv.pushpull(3, ndarray::full({4}, mine), out);  // not refused as "twice in one round"
    EXPECT(out.to_vector<float>() == std::vector<float>(4, 3.0f));  // 1 + 2: nothing of the failed round
    auto other = ndarray::zeros({4});
    kv.pushpull(4, ndarray::full({4}, mine), other);
    EXPECT(other.to_vector<float>() == std::vector<float>(4, 3.0f));
  });
  INFO(err.text());
  REQUIRE(err.lines_with("kvs: stall: the round of key 3 has waited") >= 2);
  REQUIRE(err.lines_with("s for worker ranks 1") >= 2);
}
