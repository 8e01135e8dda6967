// The smallest program a user writes: init, push, pull, print.
#include <iostream>

#include <kvs/kvs.hpp>

int main() {
  auto kv = kvs::create("local");
  kv->init(3, kvs::ndarray::full({2, 3}, 2.0));
  kv->push(3, kvs::ndarray::full({2, 3}, 8.0));
  auto out = kvs::ndarray::zeros({2, 3});
  kv->pull(3, out);
  auto v = out.to_vector<float>();
  std::cout << "consumer pulled " << v[0] << "\n";
  return v[0] == 8.0f ? 0 : 1;
}
