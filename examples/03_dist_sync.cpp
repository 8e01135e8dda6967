// 03: dist_sync across processes. The same program runs as the scheduler,
// the servers and the workers (DMLC_ROLE, set by kvs-launch); a scheduler or
// server process serves inside kvs::create and exits when the job ends.
// Each worker pushes rank + 1 for three rounds; the test optimizer
// (w += rescale_grad * g, rescale_grad 2) runs once per round on the servers
// on the sum of both workers' pushes, so after round i every value is
// i * 2 * (1 + 2) = 6i. A 1211x1211 key is split across both servers.
//
// Run:   ./build/tools/kvs-launch -n 2 -s 2 -- ./build/examples/03_dist_sync
// Prints (worker rank 0):
//   2 workers; round 1: small 6, big 6
//   2 workers; round 2: small 12, big 12
//   2 workers; round 3: small 18, big 18
#include <iostream>

#include <kvs/kvs.hpp>

int main() {
  auto kv = kvs::create("dist_sync");  // the cluster comes from DMLC_* variables
  kv->init(std::vector<kvs::key>{"small", "big"},
           {kvs::ndarray::zeros({4}), kvs::ndarray::zeros({1211, 1211})});
  kv->set_optimizer(kvs::create_optimizer("test", {{"rescale_grad", 2}}));
  auto small = kvs::ndarray::zeros({4}), big = kvs::ndarray::zeros({1211, 1211});
  for (int round = 1; round <= 3; ++round) {
    float g = static_cast<float>(kv->rank() + 1);
    kv->push(std::vector<kvs::key>{"small", "big"},
             {kvs::ndarray::full({4}, g), kvs::ndarray::full({1211, 1211}, g)});
    kv->pull(std::vector<kvs::key>{"small", "big"}, {small, big});
    auto s = small.to_vector<float>()[0];
    auto b = big.to_vector<float>().back();
    if (kv->rank() == 0)
      std::cout << kv->num_workers() << " workers; round " << round << ": small " << s
                << ", big " << b << std::endl;
  }
  return 0;
}
