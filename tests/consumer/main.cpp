// The smallest programs a user writes against the installed headers: init,
// push, pull, print; then the same with an updater actor of their own.
#include <iostream>

#include <kvs/kvs.hpp>

namespace {

// w -= g: the public updater interface is all it needs. It takes one
// argument of its own (unused): CAF 0.17 binds a reference to a null tuple
// when a function actor is spawned with none (UBSan stops on it).
kvs::updater_actor::behavior_type minus_grad(kvs::updater_actor::pointer, int) {
  return {
      [](kvs::update_atom, kvs::update_request& req) {
        auto g = req.grad.to_vector<float>();
        float* w = req.weight.data<float>();
        for (size_t i = 0; i < g.size(); ++i)
          w[i] -= g[i];
      },
  };
}

float push_pull(kvs::kvstore& kv) {
  kv.init(3, kvs::ndarray::full({2, 3}, 2.0));
  kv.push(3, kvs::ndarray::full({2, 3}, 8.0));
  auto out = kvs::ndarray::zeros({2, 3});
  kv.pull(3, out);
  return out.to_vector<float>()[0];
}

}  // namespace

int main() {
  auto kv = kvs::create("local");
  float plain = push_pull(*kv);
  std::cout << "consumer pulled " << plain << "\n";
  auto with_updater = kvs::create("local");
  with_updater->set_updater(with_updater->system().spawn(minus_grad, 0));
  float updated = push_pull(*with_updater);
  std::cout << "consumer's updater left " << updated << "\n";
  return plain == 8.0f && updated == -6.0f ? 0 : 1;
}
