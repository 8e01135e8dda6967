// row_sparse keys in in-process clusters, after MXNet's
// tests/nightly/dist_sync_kvstore.py: a row_sparse key split by rows across
// 2 and 3 servers (uneven), pushes of different rows from each worker (one
// of them empty), row_sparse_pull with duplicate and 2-D ids, lazy sgd on
// the servers; values checked exactly.
#include <catch2/catch.hpp>

#include "local_cluster.hpp"

using namespace kvs;

namespace {

constexpr int64_t rows = 11, cols = 3;  // 33 elements: split with a bound of 20

// row r of a pushed value: r * 10 + c + base
ndarray rsp(std::vector<int64_t> ids, float base) {
  std::vector<float> v;
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c)
      v.push_back(static_cast<float>(r * 10 + c) + base);
  auto n = static_cast<int64_t>(ids.size());
  return ndarray::row_sparse({rows, cols}, std::move(ids), ndarray::from_vector(v, {n, cols}));
}

void add(std::vector<float>& model, const std::vector<int64_t>& ids, float base) {
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c)
      model[static_cast<size_t>(r * cols + c)] += static_cast<float>(r * 10 + c) + base;
}

ndarray no_rows() { return ndarray::row_sparse({rows, cols}, {}, ndarray::zeros({0, cols})); }

std::vector<float> rows_of(const std::vector<float>& model, const std::vector<int64_t>& ids) {
  std::vector<float> out;
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c)
      out.push_back(model[static_cast<size_t>(r * cols + c)]);
  return out;
}

// Three rounds with the test optimizer (w += g) on a row_sparse key split
// by rows, every worker checking the value.
void sparse_rounds(kvstore& kv, bool sync) {
  int n = kv.num_workers(), me = kv.rank();
  kv.init(5, ndarray::row_sparse({rows, cols}, {0, 4}, ndarray::full({2, cols}, 1.0)));
  kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1.0}}));
  std::vector<float> model(rows * cols, 0.0f);
  for (int64_t c = 0; c < cols; ++c)
    model[static_cast<size_t>(c)] = model[static_cast<size_t>(4 * cols + c)] = 1.0f;
  // Round 1: worker 0 pushes rows on every server, the others push nothing
  // (an empty push is a push: the round completes).
  kv.push(5, me == 0 ? rsp({0, 5, 6, 10}, 1) : no_rows());
  add(model, {0, 5, 6, 10}, 1);
  // Round 2: each worker its own rows, one worker dense.
  for (int w = 0; w < n; ++w)
    if (w == 1)
      for (auto& x : model)
        x += 2.0f;
    else
      add(model, {w, 8}, static_cast<float>(w));
  kv.push(5, me == 1 ? ndarray::full({rows, cols}, 2.0) : rsp({me, 8}, static_cast<float>(me)));
  // Round 3: the same rows from every device of every worker.
  kv.push(5, {rsp({2, 9}, 0), rsp({9}, 1)});
  for (int w = 0; w < n; ++w) {
    add(model, {2, 9}, 0);
    add(model, {9}, 1);
  }
  // Every worker's pushes are applied (dist_async answers a push once applied).
  kv.wait_all();
  kv.barrier();
  (void)sync;
  auto out = no_rows();
  kv.row_sparse_pull(5, out, ndarray::from_vector<int64_t>({10, 0, 6, 6, 5, 3}, {2, 3}));
  EXPECT(out.row_ids() == (std::vector<int64_t>{0, 3, 5, 6, 10}));
  EXPECT(out.rows().to_vector<float>() == rows_of(model, {0, 3, 5, 6, 10}));
  auto all = no_rows();
  kv.pull(5, all, 0, false);  // every row
  EXPECT(all.to_vector<float>() == model);
  auto none = no_rows();
  kv.row_sparse_pull(5, none, ndarray::from_vector<int64_t>({}, {0}));
  EXPECT(none.row_ids().empty());
  // Ids past the key fail the pull, naming it.
  auto far = no_rows();
  kv.row_sparse_pull(5, far, ndarray::from_vector<int64_t>({11}, {1}));
  expect_error([&] { far.wait_to_read(); }, errc::invalid_argument, {"key 5", "row id 11"});
  kv.barrier();
}

config split_small(config c) {
  c.bigarray_bound = 20;
  return c;
}

}  // namespace

TEST_CASE("dist_sync row_sparse key split by rows across 2 servers: pushes and row_sparse_pull are exact", "[dist][sparse]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c = split_small(c); };
  cluster.run("dist_sync", [](kvstore& kv) { sparse_rounds(kv, true); });
}

TEST_CASE("dist_sync row_sparse key split unevenly across 3 servers, 3 workers", "[dist][sparse]") {
  local_cluster cluster{3, 3};
  cluster.settings = [](config& c) { c = split_small(c); };
  cluster.run("dist_sync", [](kvstore& kv) { sparse_rounds(kv, true); });
}

TEST_CASE("dist_device_sync row_sparse rounds on CPU arrays", "[dist][sparse]") {
  local_cluster cluster{2, 3};
  cluster.settings = [](config& c) { c = split_small(c); };
  cluster.run("dist_device_sync", [](kvstore& kv) { sparse_rounds(kv, true); });
}

TEST_CASE("dist_async applies every worker's row_sparse pushes", "[dist][sparse]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c = split_small(c); };
  cluster.run("dist_async", [](kvstore& kv) { sparse_rounds(kv, false); });
}

TEST_CASE("dist_async lazy sgd with momentum steps each pushed row exactly on both servers", "[dist][sparse][optimizer]") {
  // Each push is its round: the server updates with the pushed rows as they
  // came (no merge buffer); row 9 sits at an offset of server 1's part and
  // of its momentum. With g = 1: 1 -> .25 -> -.6875 (optimizer_steps_test);
  // row 9 gets g = 2 first: 1 -> -.25 (mom -1.25) -> -1.3125.
  local_cluster cluster{1, 2};
  cluster.settings = [](config& c) { c = split_small(c); };
  cluster.run("dist_async", [](kvstore& kv) {
    kv.init(1, ndarray::row_sparse({rows, cols}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
                                   ndarray::full({rows, cols}, 1.0)));
    kv.set_optimizer(
        create_optimizer("sgd", {{"learning_rate", 0.5}, {"momentum", 0.5}, {"wd", 0.5}}));
    kv.push(1, ndarray::row_sparse({rows, cols}, {0, 9},
                                   ndarray::from_vector<float>({1, 1, 1, 2, 2, 2}, {2, cols})));
    kv.push(1, ndarray::row_sparse({rows, cols}, {9}, ndarray::full({1, cols}, 1.0)));
    auto out = ndarray::zeros({rows, cols});
    kv.pull(1, out);
    auto v = out.to_vector<float>();
    for (int64_t r = 0; r < rows; ++r) {
      float want = r == 0 ? .25f : r == 9 ? -1.3125f : 1.0f;
      for (int64_t c = 0; c < cols; ++c)
        EXPECT(v[static_cast<size_t>(r * cols + c)] == want);
    }
  });
}

TEST_CASE("dist_sync lazy sgd on the servers updates only the rows pushed in the round", "[dist][sparse][optimizer]") {
  local_cluster cluster{2, 3};
  cluster.settings = [](config& c) { c = split_small(c); };
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(1, ndarray::row_sparse({rows, cols}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
                                   ndarray::full({rows, cols}, 2.0)));
    kv.set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.5}, {"wd", 0.5}}));
    // Worker 0 pushes row 1, worker 1 rows 1 and 9 (the sum: 2 in row 1).
    auto ids = kv.rank() == 0 ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 9};
    kv.push(1, ndarray::row_sparse({rows, cols}, ids,
                                   ndarray::full({static_cast<int64_t>(ids.size()), cols}, 1.0)));
    auto out = ndarray::zeros({rows, cols});
    kv.pull(1, out);
    auto v = out.to_vector<float>();
    for (int64_t r = 0; r < rows; ++r) {
      // w -= lr * (g + wd * w): row 1: 2 - .5 * (2 + 1); row 9: 2 - .5 * (1 + 1)
      float want = r == 1 ? 0.5f : r == 9 ? 1.0f : 2.0f;
      for (int64_t c = 0; c < cols; ++c)
        EXPECT(v[static_cast<size_t>(r * cols + c)] == want);
    }
    kv.barrier();
  });
}

TEST_CASE("dist_sync dense key split between rows across 2 servers: row_sparse pushes and row_sparse_pull", "[dist][sparse]") {
  // 40 x 3 = 120 elements over 2 servers: cut at element 60, row 20, so
  // each server holds whole rows of a key that was initialized dense.
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c = split_small(c); };
  cluster.run("dist_sync", [](kvstore& kv) {
    constexpr int64_t n = 40;
    std::vector<float> model(n * cols);
    for (size_t i = 0; i < model.size(); ++i)
      model[i] = static_cast<float>(i);
    kv.init(9, ndarray::from_vector(model, {n, cols}));
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1.0}}));
    // Each worker pushes rows on both servers; one row (19) from both.
    auto ids = kv.rank() == 0 ? std::vector<int64_t>{1, 19, 30} : std::vector<int64_t>{19, 20, 39};
    auto m = static_cast<int64_t>(ids.size());
    kv.push(9, ndarray::row_sparse({n, cols}, ids, ndarray::full({m, cols}, 1.0)));
    for (auto r : std::vector<int64_t>{1, 19, 30, 19, 20, 39})
      for (int64_t c = 0; c < cols; ++c)
        model[static_cast<size_t>(r * cols + c)] += 1.0f;
    auto out = ndarray::row_sparse({n, cols}, {}, ndarray::zeros({0, cols}));
    kv.row_sparse_pull(9, out, ndarray::from_vector<int64_t>({39, 19, 0, 20}, {4}));
    EXPECT(out.row_ids() == (std::vector<int64_t>{0, 19, 20, 39}));
    std::vector<float> want;
    for (auto r : {0, 19, 20, 39})
      for (int64_t c = 0; c < cols; ++c)
        want.push_back(model[static_cast<size_t>(r * cols + c)]);
    EXPECT(out.rows().to_vector<float>() == want);
    auto dense = ndarray::zeros({n, cols});
    kv.pull(9, dense);
    EXPECT(dense.to_vector<float>() == model);
    kv.barrier();
  });
}

// A worker's push of rows and its next, unrelated pull travel apart to
// servers of other processes: worker 0 waits for the pull before the
// barrier worker 1 needs to push, so a pull tied to the push's batch (its
// answer held until the round completes) would wait out request_timeout.
TEST_CASE("dist_sync: a pull behind a push of rows is answered before the push's round completes",
          "[dist][sparse]") {
  local_cluster cluster{2, 1};
  cluster.timeout = std::chrono::milliseconds(4000);
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(1, no_rows());
    kv.init(2, ndarray::full({2, 3}, 7.0));
    for (int step = 0; step < 5; ++step) {
      auto out = ndarray::zeros({2, 3});
      if (kv.rank() == 0) {
        kv.push(1, rsp({1, 4}, 1));
        kv.pull(2, out);
        out.wait_to_read();
        EXPECT(out.to_vector<float>() == std::vector<float>(6, 7.0f));
        kv.barrier();
      } else {
        kv.barrier();
        kv.push(1, no_rows());
      }
      kv.wait_all();
    }
  });
}
