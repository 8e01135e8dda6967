// 05: an embedding table across servers. A ROWS x 64 float32 table (1M rows
// by default) is initialized row_sparse, so dist_sync splits it between
// rows over the servers. Each step every worker draws a batch of row ids
// from a Zipf distribution (a few rows are hot, as in real vocabularies),
// pulls those rows (row_sparse_pull), and pushes a gradient for them; adam
// with lazy_update updates only the pushed rows, on the servers. Gradients
// are a function of (step, worker, row), so worker 0 replays the whole job
// in a local store afterwards and checks a few rows are bit-identical.
//
// Run:    ./build/tools/kvs-launch -n 2 -s 2 -- ./build/examples/05_embedding_table
//         (--rows 20000 --steps 40 for a quick run, as the CTest case does;
//         --optimizer sgd for lazy sgd). adam's first update allocates its
//         two state arrays (512 MB over the servers for 1M rows); on a
//         machine so loaded that this takes seconds, raise
//         PS_HEARTBEAT_TIMEOUT (seconds) so no peer is declared down.
// Prints (worker rank 0):
//   embedding table: 1000000 x 64 f32, 2 workers, 300 steps of 512 ids
//   rows/s per worker: <pulled and pushed rows per second>
//   replay check: 8 rows exact
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include <CLI/CLI.hpp>
#include <kvs/kvs.hpp>

using namespace kvs;

namespace {
constexpr int64_t cols = 64;

// The row ids of one worker's batch at one step: Zipf-like (log-uniform
// ranks: P(row r) ~ 1 / (r + 1)), duplicates included, as a batch has them.
std::vector<int64_t> batch(int64_t rows, int step, int worker, int size) {
  std::mt19937_64 rng(static_cast<uint64_t>(step) * 1000003u + static_cast<uint64_t>(worker));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<int64_t> ids;
  for (int i = 0; i < size; ++i) {
    auto r = static_cast<int64_t>(std::exp(u(rng) * std::log(static_cast<double>(rows) + 1))) - 1;
    ids.push_back(std::min(std::max<int64_t>(r, 0), rows - 1));
  }
  return ids;
}

// The worker's gradient for its batch: the unique rows, each a small
// function of (step, worker, row).
ndarray gradient(int64_t rows, int step, int worker, const std::vector<int64_t>& ids) {
  std::set<int64_t> unique(ids.begin(), ids.end());
  std::vector<int64_t> r(unique.begin(), unique.end());
  std::vector<float> v;
  for (auto row : r)
    for (int64_t c = 0; c < cols; ++c)
      v.push_back(static_cast<float>((row + c + step * 3 + worker * 7) % 17) / 16.0f - 0.5f);
  auto n = static_cast<int64_t>(r.size());
  return ndarray::row_sparse({rows, cols}, std::move(r), ndarray::from_vector(v, {n, cols}));
}

std::shared_ptr<optimizer> lazy(const std::string& name) {
  return create_optimizer(name, {{"learning_rate", 0.01}, {"lazy_update", 1}});
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"an embedding table over parameter servers"};
  int64_t rows = 1000000;
  int steps = 300, size = 512;
  std::string opt = "adam";
  app.add_option("--rows", rows, "rows of the table")->check(CLI::Range(int64_t{100}, int64_t{1} << 30));
  app.add_option("--steps", steps, "training steps")->check(CLI::Range(1, 1000000));
  app.add_option("--batch", size, "row ids per worker and step")->check(CLI::Range(1, 1000000));
  app.add_option("--optimizer", opt, "an optimizer with lazy_update (adam, sgd)");
  CLI11_PARSE(app, argc, argv);

  auto kv = create("dist_sync");  // the cluster comes from DMLC_* variables
  auto empty = [&] { return ndarray::row_sparse({rows, cols}, {}, ndarray::zeros({0, cols})); };
  kv->init("embedding", empty());
  kv->set_optimizer(lazy(opt));
  int me = kv->rank(), workers = kv->num_workers();
  auto t0 = std::chrono::steady_clock::now();
  int64_t moved = 0;
  auto rows_now = empty();
  for (int step = 0; step < steps; ++step) {
    auto ids = batch(rows, step, me, size);
    kv->row_sparse_pull("embedding", rows_now, ndarray::from_vector(ids, {size}));
    rows_now.wait_to_read();  // a model would compute with these rows here
    auto g = gradient(rows, step, me, ids);
    moved += 2 * static_cast<int64_t>(g.row_ids().size());
    kv->push("embedding", g);
  }
  kv->wait_all();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  kv->barrier();
  // The rows to check: the hottest, and a few from the tail.
  std::vector<int64_t> check = {0, 1, 2, 5, 10, rows / 100, rows / 2, rows - 1};
  auto got = empty();
  kv->row_sparse_pull("embedding", got, ndarray::from_vector(check, {8}));
  auto got_rows = got.rows().to_vector<float>();
  kv->barrier();
  if (me != 0)
    return 0;
  std::printf("embedding table: %lld x %lld f32, %d workers, %d steps of %d ids\n",
              static_cast<long long>(rows), static_cast<long long>(cols), workers, steps, size);
  std::printf("rows/s per worker: %.0f\n", static_cast<double>(moved) / secs);
  // The same job replayed in one process: every worker's gradient each step.
  auto replay = create("local");
  replay->init("embedding", empty());
  replay->set_optimizer(lazy(opt));
  for (int step = 0; step < steps; ++step) {
    std::vector<ndarray> all;
    for (int w = 0; w < workers; ++w)
      all.push_back(gradient(rows, step, w, batch(rows, step, w, size)));
    replay->push("embedding", all);
  }
  auto want = empty();
  replay->row_sparse_pull("embedding", want, ndarray::from_vector(check, {8}));
  auto want_rows = want.rows().to_vector<float>();
  int exact = 0;
  for (size_t r = 0; r < check.size(); ++r) {
    bool same = true;
    for (int64_t c = 0; c < cols; ++c)
      same = same && got_rows[r * cols + static_cast<size_t>(c)] == want_rows[r * cols + static_cast<size_t>(c)];
    exact += same ? 1 : 0;
    if (!same)
      std::printf("row %lld differs from the replay\n", static_cast<long long>(check[r]));
  }
  std::printf("replay check: %d rows exact\n", exact);
  return exact == static_cast<int>(check.size()) ? 0 : 1;
}
