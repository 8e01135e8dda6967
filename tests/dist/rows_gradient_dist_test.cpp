// Which route a row_sparse push took to the servers' optimizer, seen
// through each worker's stats() (key_stats::sparse_gradient_rows): in
// dist_async every push is its own round and its rows go to lazy sgd as
// they came, on every server of a key split by rows; in dist_sync so do a
// lone worker's, and a round of several workers' row pushes is summed into
// a row_sparse gradient without the dense merge buffer
// (tests/dist/round_rows_dist_test.cpp has more). Values checked exactly
// against a sequential model.
#include <catch2/catch.hpp>

#include "lazy_sgd_model.hpp"
#include "local_cluster.hpp"

using namespace kvs;

using namespace lazy_sgd_model;

namespace {

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
