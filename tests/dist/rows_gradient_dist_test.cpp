// Which route a row_sparse push took to the servers' optimizer, seen
// through each worker's stats() (key_stats::sparse_gradient_rows): in
// dist_async every push is its own round and its rows go to lazy sgd as
// they came, on every server of a key split by rows; in dist_sync so do a
// lone worker's, and a round of several workers' row pushes is summed into
// a row_sparse gradient without the dense merge buffer
// (tests/dist/round_rows_dist_test.cpp has more). Values checked exactly
// against a sequential model.
#include <catch2/catch.hpp>

#include "local_cluster.hpp"

using namespace kvs;

namespace {

constexpr int64_t rows = 11, cols = 3;  // 33 elements: split by rows with a bound of 20

// Rows `ids`, each holding `g` (a power of two keeps every step exact).
ndarray rsp(const std::vector<int64_t>& ids, float g) {
  auto n = static_cast<int64_t>(ids.size());
  return ndarray::row_sparse({rows, cols}, ids, ndarray::full({n, cols}, g));
}

// Lazy sgd, lr .5, wd .5, on the model: w -= .5 * (g + .5 * w) in rows `ids`.
void step(std::vector<float>& model, const std::vector<int64_t>& ids, float g) {
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c) {
      auto& w = model[static_cast<size_t>(r * cols + c)];
      w -= 0.5f * (g + 0.5f * w);
    }
}

uint64_t rows_handed_over(const kvstore& kv) {
  for (auto& [k, s] : kv.stats().keys)
    if (k == key(3))
      return s.sparse_gradient_rows;
  return 0;
}

void init_lazy_sgd(kvstore& kv) {
  std::vector<int64_t> all;
  for (int64_t r = 0; r < rows; ++r)
    all.push_back(r);
  kv.init(3, ndarray::row_sparse({rows, cols}, all, ndarray::full({rows, cols}, 2.0)));
  kv.set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.5}, {"wd", 0.5}}));
}

void expect_model(kvstore& kv, const std::vector<float>& model) {
  auto out = ndarray::zeros({rows, cols});
  kv.pull(3, out);
  EXPECT(out.to_vector<float>() == model);
}

}  // namespace

TEST_CASE("dist_async hands every worker's pushed rows to the servers' lazy sgd as they came", "[dist][sparse][optimizer]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 20; };  // the table split by rows across the servers
  cluster.run("dist_async", [](kvstore& kv) {
    init_lazy_sgd(kv);
    // Each worker its own rows (on both servers), so the order in which
    // the two workers' pushes apply does not change the result.
    auto mine = kv.rank() == 0 ? std::vector<int64_t>{0, 9} : std::vector<int64_t>{2, 6, 10};
    kv.push(3, rsp(mine, 1));
    kv.push(3, rsp({mine[1]}, 2));
    kv.wait_all();
    EXPECT(rows_handed_over(kv) == mine.size() + 1);
    kv.barrier();
    std::vector<float> model(rows * cols, 2.0f);
    step(model, {0, 9}, 1);
    step(model, {9}, 2);
    step(model, {2, 6, 10}, 1);
    step(model, {6}, 2);
    expect_model(kv, model);
    kv.barrier();
  });
}

TEST_CASE("dist_sync hands a lone worker's rows to lazy sgd as they came, on both servers", "[dist][sparse][optimizer]") {
  local_cluster cluster{1, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 20; };  // the table split by rows across the servers
  cluster.run("dist_sync", [](kvstore& kv) {
    init_lazy_sgd(kv);
    kv.push(3, rsp({1, 5, 8}, 1));
    kv.push(3, rsp({8}, 2));
    std::vector<float> model(rows * cols, 2.0f);
    step(model, {1, 5, 8}, 1);
    step(model, {8}, 2);
    expect_model(kv, model);
    EXPECT(rows_handed_over(kv) == 4);
  });
}

TEST_CASE("dist_sync sums several workers' rows for lazy sgd without the dense merge buffer", "[dist][sparse][optimizer]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 20; };  // the table split by rows across the servers
  cluster.run("dist_sync", [](kvstore& kv) {
    init_lazy_sgd(kv);
    // Row 8 from both workers: its gradient is 1 + 1.
    kv.push(3, rsp(kv.rank() == 0 ? std::vector<int64_t>{1, 8} : std::vector<int64_t>{8, 9}, 1));
    std::vector<float> model(rows * cols, 2.0f);
    step(model, {1, 9}, 1);
    step(model, {8}, 2);
    expect_model(kv, model);
    EXPECT(rows_handed_over(kv) == 2);
    kv.barrier();
  });
}
