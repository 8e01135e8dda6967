// dist_sync rounds whose pushes a server keeps in the workers' shared memory
// until the round's last push, then sums in one pass (actors/key_deferred.cpp):
// values exact, and a caller that rewrites its gradients right after push
// returns does not change what the round sums (the push reads them until its
// answer, which comes when the round completes). CTest runs these under
// KVS_TRANSPORT=caf and shm (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <algorithm>

#include "local_cluster.hpp"

using namespace kvs;

namespace {

constexpr int small_keys = 20;
constexpr int64_t small_n = 64, big_n = 100000;  // the big key: one part on each server

// Worker `rank`'s gradient of key `k` in `round`: small integers, exact in
// any order.
float gradient(int rank, int k, int round) { return static_cast<float>((rank + 1) * (k % 7 + round)); }

float sum_of(int workers, int k, int round) {
  float s = 0;
  for (int r = 0; r < workers; ++r)
    s += gradient(r, k, round);
  return s;
}

void overwrite(ndarray& a) {
  float* p = a.data<float>();  // waits for the push to read it
  std::fill(p, p + a.size(), 1000.0f);
}

void expect_all(const ndarray& a, float want) {
  auto v = a.to_vector<float>();
  EXPECT(std::all_of(v.begin(), v.end(), [&](float x) { return x == want; }));
}

void rounds_with_rewrites(kvstore& kv) {
  std::vector<key> keys;
  std::vector<ndarray> zeros;
  for (int k = 0; k <= small_keys; ++k) {
    keys.push_back(k);
    zeros.push_back(ndarray::zeros({k == small_keys ? big_n : small_n}));
  }
  kv.init(keys, zeros);
  int w = kv.num_workers();
  for (int round = 1; round <= 3; ++round) {
    std::vector<ndarray> grads, outs;
    for (int k = 0; k <= small_keys; ++k) {
      int64_t n = k == small_keys ? big_n : small_n;
      grads.push_back(ndarray::full({n}, gradient(kv.rank(), k, round)));
      outs.push_back(ndarray::zeros({n}));
    }
    kv.push(keys, grads);
    for (auto& g : grads)
      overwrite(g);
    kv.pull(keys, outs);
    for (int k = 0; k <= small_keys; ++k)
      expect_all(outs[static_cast<size_t>(k)], sum_of(w, k, round));
    // A pushpull into its own gradient: the answer lands where the round read.
    auto g = ndarray::full({small_n}, gradient(kv.rank(), 3, round));
    kv.pushpull(3, g, g);
    expect_all(g, sum_of(w, 3, round));
  }
}

}  // namespace

TEST_CASE("dist_sync rounds of 2 workers sum exactly, whatever the callers write after pushing",
          "[dist][shm]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 1000; };
  cluster.run("dist_sync", rounds_with_rewrites);
}

TEST_CASE("dist_sync rounds of 3 workers sum exactly, whatever the callers write after pushing",
          "[dist][shm]") {
  local_cluster cluster{3, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 1000; };
  cluster.run("dist_sync", rounds_with_rewrites);
}
