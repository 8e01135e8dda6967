#pragma once
// A row_sparse key 3 of 11 x 3 (33 elements: split by rows across servers
// with a bound of 20), lazy sgd on it (lr .5, wd .5), and the sequential
// model the distributed tests of its rows check against.
#include <cstdint>
#include <vector>

#include <kvs/kvs.hpp>

namespace lazy_sgd_model {

constexpr int64_t rows = 11, cols = 3;

// Rows `ids`, each holding `g` (a power of two keeps every step exact).
inline kvs::ndarray rsp(const std::vector<int64_t>& ids, float g) {
  auto n = static_cast<int64_t>(ids.size());
  return kvs::ndarray::row_sparse({rows, cols}, ids, kvs::ndarray::full({n, cols}, g));
}

// Lazy sgd, lr .5, wd .5, on the model: w -= .5 * (g + .5 * w) in rows `ids`.
inline void step(std::vector<float>& model, const std::vector<int64_t>& ids, float g) {
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c) {
      auto& w = model[static_cast<size_t>(r * cols + c)];
      w -= 0.5f * (g + 0.5f * w);
    }
}

inline std::vector<int64_t> all_rows() {
  std::vector<int64_t> all;
  for (int64_t r = 0; r < rows; ++r)
    all.push_back(r);
  return all;
}

// Key 3 initialized to 2 everywhere, lazy sgd on the store.
inline void init_lazy_sgd(kvs::kvstore& kv) {
  kv.init(3, kvs::ndarray::row_sparse({rows, cols}, all_rows(), kvs::ndarray::full({rows, cols}, 2.0)));
  kv.set_optimizer(kvs::create_optimizer("sgd", {{"learning_rate", 0.5}, {"wd", 0.5}}));
}

// The rows of this worker's pushes of key 3 that the servers' optimizer
// took without a dense buffer (key_stats::sparse_gradient_rows).
inline uint64_t rows_handed_over(const kvs::kvstore& kv) {
  for (auto& [k, s] : kv.stats().keys)
    if (k == kvs::key(3))
      return s.sparse_gradient_rows;
  return 0;
}

}  // namespace lazy_sgd_model
