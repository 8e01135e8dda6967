// 02: an updater actor of your own. The store sends it one request per push
// round with the summed gradient, the stored weight and the key's state; it
// updates the weight in place and answers. Here: SGD whose step shrinks with
// the number of updates it has made, counted in the actor's own state.
//
// Run:   ./build/examples/02_custom_updater
// Prints:
//   after push 1: 0.9 0.9 0.9 0.9
//   after push 2: 0.85 0.85 0.85 0.85
//   after push 3: 0.816667 0.816667 0.816667 0.816667
//   built-in sgd (lr 0.1), after one push: 0.9 0.9 0.9 0.9
#include <iostream>

#include <kvs/kvs.hpp>

namespace {

struct decaying_sgd_state {
  int updates = 0;
};

// An updater actor: any typed actor that answers (update_atom, update_request).
kvs::updater_actor::behavior_type
decaying_sgd(kvs::updater_actor::stateful_pointer<decaying_sgd_state> self, float lr) {
  return {
      [=](kvs::update_atom, kvs::update_request& req) {
        float step = lr / static_cast<float>(++self->state.updates);  // 0.1, 0.05, 0.0333
        auto g = req.grad.to_vector<float>();
        float* w = req.weight.data<float>();
        for (size_t i = 0; i < g.size(); ++i)
          w[i] -= step * g[i];
      },
  };
}

void show(const char* label, const kvs::ndarray& a) {
  std::cout << label;
  for (float v : a.to_vector<float>())
    std::cout << ' ' << v;
  std::cout << '\n';
}

}  // namespace

int main() {
  auto kv = kvs::create("local");
  kv->init("w", kvs::ndarray::full({4}, 1.0));
  auto updater = kv->system().spawn(decaying_sgd, 0.1f);
  kv->set_updater(updater);

  auto out = kvs::ndarray::zeros({4});
  const char* labels[] = {"after push 1:", "after push 2:", "after push 3:"};
  for (auto label : labels) {
    kv->pushpull("w", kvs::ndarray::full({4}, 1.0), out);
    show(label, out);
  }
  caf::anon_send_exit(updater, caf::exit_reason::user_shutdown);

  // The built-in optimizers run through the same path.
  auto kv2 = kvs::create("local");
  kv2->init("w", kvs::ndarray::full({4}, 1.0));
  kv2->set_optimizer(kvs::create_optimizer("sgd", {{"learning_rate", 0.1}}));
  kv2->pushpull("w", kvs::ndarray::full({4}, 1.0), out);
  show("built-in sgd (lr 0.1), after one push:", out);
  return 0;
}
