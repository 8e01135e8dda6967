// 06: gradient compression (docs/compression.md): a device store sends each
// device's gradient in 2 bits per value; what falls below the threshold is
// kept as a residual and sent in a later round, so nothing is lost.
//
// Run:   ./build/examples/06_gradient_compression
// Prints:
//   round 1: 0 0 0 0
//   round 2: 1 1 1 1
//   round 3: 0 0 0 0
//   round 4: 1 1 1 1
//   sum of the rounds: 2 (2 devices x 4 rounds x 0.25)
#include <iostream>

#include <kvs/kvs.hpp>

int main() {
  auto kv = kvs::create("device");
  kv->set_gradient_compression({"2bit", 0.5});  // before init
  kv->init(0, kvs::ndarray::zeros({4}));
  float total = 0;
  for (int round = 1; round <= 4; ++round) {
    // Each of 2 devices pushes 0.25: below the threshold, so a device sends
    // 0 and keeps 0.25, then sends 0.5 once its residual reaches it.
    kv->push(0, {kvs::ndarray::full({4}, 0.25, kvs::dtype::f32, kvs::cpu(0)),
                 kvs::ndarray::full({4}, 0.25, kvs::dtype::f32, kvs::cpu(1))});
    auto out = kvs::ndarray::zeros({4});
    kv->pull(0, out);
    std::cout << "round " << round << ":";
    for (float v : out.to_vector<float>())
      std::cout << ' ' << v;
    std::cout << '\n';
    total += out.to_vector<float>()[0];
  }
  std::cout << "sum of the rounds: " << total << " (2 devices x 4 rounds x 0.25)\n";
}
