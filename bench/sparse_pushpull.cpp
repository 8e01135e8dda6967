// bench/sparse_pushpull: one step on an embedding table of ROWS x COLS
// float32 = push a sparse gradient of FRACTION of the rows + row_sparse_pull
// of the same rows, beside the dense step on the same table = push a dense
// gradient + pull the whole table, in the same run. sgd (lazy_update) runs
// on the store in both, so the sparse step updates only its rows. Median of
// RUNS steps after 2 warm-ups; every worker uses its own random rows.
//
// Run (local):        ./build/bench/sparse_pushpull
// Run (distributed):  ./build/tools/kvs-launch -n 2 -s 2 -- ./build/bench/sparse_pushpull --type dist_sync
// Flags: --rows 1000000 --cols 64 --fraction 0.01 --runs 10 (--sparse-only: no dense step,
// for a profile of the sparse one)
// Prints (rank 0): ms per step, rows/s, bytes moved per step and the time
// per byte of each; how many pushed rows the optimizer took as they were
// (stats(): sparse_gradient_rows); the dense/sparse ratio of step times
// (goal >= 20) and of time per byte (goal <= 2).
#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include <CLI/CLI.hpp>
#include <kvs/kvs.hpp>

#include "bench_util.hpp"

using namespace kvs;

int main(int argc, char** argv) {
  CLI::App app{"sparse vs dense push + pull of an embedding table"};
  std::string type = "local";
  int64_t rows = 1000000, cols = 64;
  double fraction = 0.01;
  int runs = 10;
  app.add_option("--type", type, "store type (local, device, dist_sync, dist_async...)");
  app.add_option("--rows", rows, "rows of the table")->check(CLI::PositiveNumber);
  app.add_option("--cols", cols, "elements per row")->check(CLI::PositiveNumber);
  app.add_option("--fraction", fraction, "share of the rows a sparse step touches")->check(CLI::Range(1e-6, 1.0));
  app.add_option("--runs", runs, "timed steps")->check(CLI::Range(3, 100000));
  bool sparse_only = false;  // a profile of the sparse step alone (perf record)
  app.add_flag("--sparse-only", sparse_only, "time the sparse step only (for profiling)");
  CLI11_PARSE(app, argc, argv);

  auto kv = create(type);
  bool print = kv->rank() == 0;
  kv->init(0, ndarray::row_sparse({rows, cols}, {}, ndarray::zeros({0, cols})));
  kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.01}}));

  auto n = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(rows) * fraction));
  std::mt19937_64 rng(static_cast<uint64_t>(kv->rank()) + 1);
  auto random_rows = [&] {
    std::set<int64_t> s;
    while (static_cast<int64_t>(s.size()) < n)
      s.insert(static_cast<int64_t>(rng() % static_cast<uint64_t>(rows)));
    return std::vector<int64_t>(s.begin(), s.end());
  };
  std::vector<ndarray> grads, ids;  // a few batches, used in turn
  for (int b = 0; b < 4; ++b) {
    auto r = random_rows();
    ids.push_back(ndarray::from_vector(r, {n}));
    grads.push_back(ndarray::row_sparse({rows, cols}, r, ndarray::full({n, cols}, 1.0)));
  }
  auto out = ndarray::row_sparse({rows, cols}, {}, ndarray::zeros({0, cols}));
  int turn = 0;
  auto sparse = bench::time_runs(2, runs, [&] {
    auto b = static_cast<size_t>(turn++ % 4);
    kv->push(0, grads[b]);
    kv->row_sparse_pull(0, out, ids[b]);
    out.wait_to_read();
  });
  kv->barrier();
  // The route the sparse pushes took: rows handed to the optimizer as they
  // were, or summed in a dense buffer first (docs/values.md).
  auto as_pushed = kv->stats().total.sparse_gradient_rows;
  auto pushed = static_cast<uint64_t>(n) * static_cast<uint64_t>(turn);
  if (sparse_only) {
    if (print)
      std::printf("sparse step: %.3f ms (median of %d); %llu of %llu pushed rows updated as pushed\n",
                  bench::quantile(sparse, 0.5) * 1e3, runs, static_cast<unsigned long long>(as_pushed),
                  static_cast<unsigned long long>(pushed));
    return 0;
  }
  auto dense_grad = ndarray::full({rows, cols}, 1.0), dense_out = ndarray::zeros({rows, cols});
  auto dense = bench::time_runs(2, runs, [&] {
    kv->push(0, dense_grad);
    kv->pull(0, dense_out);
    dense_out.wait_to_read();
  });
  kv->barrier();
  if (!print)
    return 0;
  double ts = bench::quantile(sparse, 0.5), td = bench::quantile(dense, 0.5);
  // Bytes a worker moves: values both ways, plus the int64 ids of the rows.
  double bs = 2.0 * n * cols * 4 + 2.0 * n * 8, bd = 2.0 * rows * cols * 4;
  std::printf("sparse_pushpull: %s, %d workers, %lld x %lld f32, %lld rows (%.2f%%) per sparse step, median of %d\n",
              type.c_str(), kv->num_workers(), static_cast<long long>(rows), static_cast<long long>(cols),
              static_cast<long long>(n), fraction * 100, runs);
  std::printf("  sparse step: %9.3f ms  %12.0f rows/s  %8.2f MB  %7.3f ns/byte\n", ts * 1e3, n / ts,
              bs / 1e6, ts / bs * 1e9);
  std::printf("  dense step:  %9.3f ms  %12.0f rows/s  %8.2f MB  %7.3f ns/byte\n", td * 1e3, rows / td,
              bd / 1e6, td / bd * 1e9);
  std::printf("  sparse pushes: %llu of %llu rows updated as pushed, without a dense buffer\n",
              static_cast<unsigned long long>(as_pushed), static_cast<unsigned long long>(pushed));
  std::printf("  dense/sparse step time: %.1fx (goal >= 20x); sparse/dense time per byte: %.2fx (goal <= 2x)\n",
              td / ts, (ts / bs) / (td / bd));
  return 0;
}
