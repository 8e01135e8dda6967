// 01: the local store: init, push from several devices, pull, and an updater.
//
// Run:   ./build/examples/01_local_push_pull
// Prints:
//   init 2s, pull:           2 2 2 2 2 2
//   push 8s, pull:           8 8 8 8 8 8
//   push ones from 4 cpus:   4 4 4 4 4 4
//   updater stored += 2*g:   6 6 6 6 6 6
#include <iostream>

#include <kvs/kvs.hpp>

namespace {
void show(const char* label, const kvs::ndarray& a) {
  std::cout << label;
  for (float v : a.to_vector<float>())  // waits until the pull has landed
    std::cout << ' ' << v;
  std::cout << '\n';
}
}  // namespace

int main() {
  auto kv = kvs::create("local");
  kvs::shape shape{2, 3};

  kv->init(3, kvs::ndarray::full(shape, 2.0));
  auto a = kvs::ndarray::zeros(shape);
  kv->pull(3, a);
  show("init 2s, pull:          ", a);

  kv->push(3, kvs::ndarray::full(shape, 8.0));  // no updater: the push replaces
  kv->pull(3, a);
  show("push 8s, pull:          ", a);

  std::vector<kvs::ndarray> grads;  // one gradient per logical device, summed
  for (int d = 0; d < 4; ++d)
    grads.push_back(kvs::ndarray::full(shape, 1.0, kvs::dtype::f32, kvs::cpu(d)));
  kv->push(3, grads);
  kv->pull(3, a);
  show("push ones from 4 cpus:  ", a);

  kv->set_updater([](const kvs::key&, const kvs::ndarray& grad, kvs::ndarray& stored) {
    auto g = grad.to_vector<float>();
    float* w = stored.data<float>();
    for (size_t i = 0; i < g.size(); ++i)
      w[i] += 2 * g[i];
  });
  kv->push(3, kvs::ndarray::full(shape, 1.0));
  kv->pull(3, a);
  show("updater stored += 2*g:  ", a);
  return 0;
}
