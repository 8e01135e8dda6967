// The shared memory data plane in a whole job (docs/distributed.md, "Two
// planes"): CTest runs these, as every [dist] case, under KVS_TRANSPORT=caf
// and shm (tests/CMakeLists.txt); run by hand they take auto.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

#include "local_cluster.hpp"

using namespace kvs;

namespace {

// The transport this run's nodes take (test_config reads the environment).
bool shares_memory() {
  auto t = test_config().resolved().transport;
  return t == "auto" || t == "shm";
}

key_stats stats_of(const kvstore& kv, int k) {
  for (auto& [which, s] : kv.stats().keys)
    if (which == key(k))
      return s;
  throw std::runtime_error("no stats for key " + std::to_string(k));
}

// `rounds` pushpulls of every worker's rank + 1 into key `k`, checked exactly.
void pushpull_rounds(kvstore& kv, int k, int64_t n, int rounds) {
  kv.init(k, ndarray::zeros({n}));
  int w = kv.num_workers();
  for (int i = 0; i < rounds; ++i) {
    auto out = ndarray::zeros({n});
    kv.pushpull(k, ndarray::full({n}, kv.rank() + 1), out);
    auto v = out.to_vector<float>();
    float want = static_cast<float>(w * (w + 1) / 2);
    EXPECT(v.front() == want && v.back() == want && v[v.size() / 2] == want);
    kv.pull(k, out);
    EXPECT(out.to_vector<float>().back() == want);
  }
}

}  // namespace

TEST_CASE("big parts travel through shared memory on one host, and every byte is counted",
          "[dist][shm]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 1000; };  // 2 parts of 200 KB
  cluster.run("dist_sync", [](kvstore& kv) {
    pushpull_rounds(kv, 3, 100000, 3);
    auto s = stats_of(kv, 3);
    // The pushes and answers: all through shared memory. (bytes_out also
    // counts init's value on the rank that sends it, in its message.)
    uint64_t pushed = 3 * 400000u;
    EXPECT(s.bytes_in == 6 * 400000u && s.bytes_out >= pushed);
    if (shares_memory())
      EXPECT(s.shm_bytes == s.bytes_in + pushed);
    else
      EXPECT(s.shm_bytes == 0u);
  });
}

TEST_CASE("parts that do not fit in the segment go in the message, exactly", "[dist][shm]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) {
    c.bigarray_bound = 1000;
    c.shm_bytes = int64_t{1} << 20;  // the smallest segment: 2 MB parts never fit
    c.shm_arena_bytes = 0;           // and arrays are copied through it, not read in place
  };
  cluster.run("dist_sync", [](kvstore& kv) {
    pushpull_rounds(kv, 3, 1000000, 2);
    pushpull_rounds(kv, 4, 100000, 2);
    EXPECT(stats_of(kv, 3).shm_bytes == 0u);
    EXPECT((stats_of(kv, 4).shm_bytes > 0) == shares_memory());
  });
}

TEST_CASE("a worker logs, per server, which plane its bytes take and why", "[dist][shm]") {
  local_cluster cluster{1, 2};
  cluster.settings = [](config& c) { c.log_level = "info"; };
  cerr_capture err;
  cluster.run("dist_sync", [](kvstore& kv) { pushpull_rounds(kv, 3, 100, 1); });
  INFO(err.text());
  if (shares_memory()) {
    REQUIRE(err.lines_with("through shared memory (the server mapped this worker's segment") == 2);
    REQUIRE(err.lines_with("arena are read and written in place") == 2);
    REQUIRE(err.lines_with("mapped shared memory segment") == 4);  // the segment and the arena
  } else {
    REQUIRE(err.lines_with("tensor bytes in CAF's messages (KVS_TRANSPORT=caf)") == 2);
  }
}

TEST_CASE("a worker that asks for shared memory with a server that takes none fails naming it",
          "[dist][shm]") {
  local_cluster cluster{1, 1};
  cluster.timeout = std::chrono::milliseconds(5000);
  // The server keeps to CAF; the worker insists.
  cluster.settings = [](config& c) { c.transport = c.role == "worker" ? "shm" : "caf"; };
  bool failed = false;
  try {
    cluster.run("dist_sync", [](kvstore&) {});
  } catch (const kvs::error& e) {
    INFO(e.what());
    REQUIRE(e.code() == errc::invalid_config);
    REQUIRE(std::string(e.what()).find("KVS_TRANSPORT=shm, but server 0") != std::string::npos);
    REQUIRE(std::string(e.what()).find("KVS_TRANSPORT=caf") != std::string::npos);
    failed = true;
  }
  REQUIRE(failed);
}

namespace {

// Pushes `value` from every worker, then overwrites the gradient at once:
// the push reads the array until its answer, so the write waits and the
// server sums what was pushed. The pulled output is read right after the
// pull. Every part of these arrays is read and written in place.
void push_then_overwrite(kvstore& kv, int k, int64_t n, float value, float want) {
  auto grad = ndarray::full({n}, value);
  auto out = ndarray::zeros({n});
  kv.push(k, grad);
  float* g = grad.data<float>();  // waits for the push to read it
  std::fill(g, g + n, 1000.0f);
  kv.pull(k, out);
  auto v = out.to_vector<float>();
  for (int64_t i = 0; i < n; i += 997)
    EXPECT(v[static_cast<size_t>(i)] == want);
  EXPECT(v.back() == want);
}

void expect_in_place(const key_stats& s) {
  if (shares_memory())
    EXPECT(s.shm_in_place_bytes > 0 && s.shm_in_place_bytes == s.shm_bytes);
  else
    EXPECT(s.shm_in_place_bytes == 0u);
}

}  // namespace

TEST_CASE("arrays in the shared memory arena are pushed and pulled in place, exactly (dist_sync)",
          "[dist][shm]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 1000; };  // 2 parts of 200 KB
  cluster.run("dist_sync", [](kvstore& kv) {
    pushpull_rounds(kv, 3, 100000, 3);
    for (int i = 0; i < 3; ++i)
      push_then_overwrite(kv, 3, 100000, static_cast<float>(kv.rank() + 1), 3.0f);
    auto s = stats_of(kv, 3);
    expect_in_place(s);
    // Nothing copied: every byte through shared memory went in place.
    if (shares_memory())
      EXPECT(s.shm_bytes == s.bytes_in + (3 + 3) * 400000u);
  });
}

TEST_CASE("arrays in the shared memory arena are pushed and pulled in place, exactly "
          "(dist_async)",
          "[dist][shm]") {
  local_cluster cluster{1, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 1000; };
  cluster.run("dist_async", [](kvstore& kv) {
    kv.init(3, ndarray::zeros({100000}));
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));  // adds each push
    float sum = 0;
    for (int i = 1; i <= 3; ++i) {
      sum += static_cast<float>(i);
      push_then_overwrite(kv, 3, 100000, static_cast<float>(i), sum);
    }
    expect_in_place(stats_of(kv, 3));
  });
}

namespace {

constexpr int64_t table_rows = 1000, table_cols = 64;  // 2 servers: 500 rows (128 KB) each

// Worker `rank`'s rows in round `round`: about 100, on both servers (at least
// 16 rows, 4 KB, on each: above KVS_SHM_MIN_BYTES).
std::vector<int64_t> rows_of_round(int rank, int round) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 100; ++i)
    ids.push_back((i * 7 + rank * 3 + round) % table_rows);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// Element (r, c) of the gradient worker `rank` pushes: small integers, exact in f32.
float gradient_at(int rank, int64_t r, int64_t c) {
  return static_cast<float>((r % 13) + c + rank + 1);
}

ndarray sparse_gradient(int rank, const std::vector<int64_t>& ids) {
  std::vector<float> v;
  for (auto r : ids)
    for (int64_t c = 0; c < table_cols; ++c)
      v.push_back(gradient_at(rank, r, c));
  auto n = static_cast<int64_t>(ids.size());
  return ndarray::row_sparse({table_rows, table_cols}, ids, ndarray::from_vector(v, {n, table_cols}));
}

// Rounds of row_sparse pushes from every worker (the test optimizer adds each
// into the table) and a row_sparse_pull of this worker's rows, checked exactly
// against a replay; then the bytes: every push and pull part went through
// shared memory (the row ids travel in the message), or none.
void sparse_rounds_through_shm(kvstore& kv) {
  const int rounds = 3, n = kv.num_workers();
  kv.init(9, ndarray::row_sparse({table_rows, table_cols}, {}, ndarray::zeros({0, table_cols})));
  kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
  std::vector<float> model(static_cast<size_t>(table_rows * table_cols), 0.0f);
  uint64_t pushed = 0, pulled = 0;
  for (int round = 0; round < rounds; ++round) {
    auto mine = rows_of_round(kv.rank(), round);
    kv.push(9, sparse_gradient(kv.rank(), mine));
    pushed += mine.size() * table_cols * sizeof(float);
    for (int w = 0; w < n; ++w)
      for (auto r : rows_of_round(w, round))
        for (int64_t c = 0; c < table_cols; ++c)
          model[static_cast<size_t>(r * table_cols + c)] += gradient_at(w, r, c);
    kv.wait_all();  // dist_async: every worker's pushes of the round applied
    kv.barrier();
    auto out = ndarray::row_sparse({table_rows, table_cols}, {}, ndarray::zeros({0, table_cols}));
    kv.row_sparse_pull(9, out, ndarray::from_vector(mine, {static_cast<int64_t>(mine.size())}));
    pulled += mine.size() * table_cols * sizeof(float);
    EXPECT(out.row_ids() == mine);
    auto got = out.rows().to_vector<float>();
    for (size_t i = 0; i < mine.size(); ++i)
      for (int64_t c = 0; c < table_cols; ++c)
        EXPECT(got[i * table_cols + static_cast<size_t>(c)] ==
               model[static_cast<size_t>(mine[i] * table_cols + c)]);
    kv.barrier();  // no worker pushes the next round before every pull is answered
  }
  auto s = stats_of(kv, 9);
  EXPECT(s.bytes_in == pulled);
  if (shares_memory())
    EXPECT(s.shm_bytes == pushed + pulled);
  else
    EXPECT(s.shm_bytes == 0u);
}

}  // namespace

TEST_CASE("row_sparse pushes and row_sparse_pull travel through shared memory, exactly "
          "(dist_sync)",
          "[dist][shm][row_sparse]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_sync", sparse_rounds_through_shm);
}

TEST_CASE("row_sparse pushes and row_sparse_pull travel through shared memory, exactly "
          "(dist_async)",
          "[dist][shm][row_sparse]") {
  local_cluster cluster{2, 2};
  cluster.run("dist_async", sparse_rounds_through_shm);
}

TEST_CASE("row_sparse pushes and row_sparse_pull copied through the segment, not in place, "
          "exactly (dist_sync)",
          "[dist][shm][row_sparse]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.shm_arena_bytes = 0; };  // arrays on the heap
  cluster.run("dist_sync", sparse_rounds_through_shm);
}

TEST_CASE("a row_sparse pushpull into a dense output is exact, its answer the whole key",
          "[dist][shm][row_sparse]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 1000; };  // a part on each server
  cluster.run("dist_sync", [](kvstore& kv) {
    const int n = kv.num_workers();
    kv.init(12, ndarray::zeros({table_rows, table_cols}));
    for (int round = 0; round < 2; ++round) {
      auto out = ndarray::zeros({table_rows, table_cols});
      auto mine = rows_of_round(kv.rank(), round);
      kv.pushpull(12, sparse_gradient(kv.rank(), mine), out);
      // No optimizer: the key holds the round's sum, every row of it answered.
      std::vector<float> want(static_cast<size_t>(table_rows * table_cols), 0.0f);
      for (int w = 0; w < n; ++w)
        for (auto r : rows_of_round(w, round))
          for (int64_t c = 0; c < table_cols; ++c)
            want[static_cast<size_t>(r * table_cols + c)] += gradient_at(w, r, c);
      EXPECT(out.to_vector<float>() == want);
    }
    if (shares_memory())
      EXPECT(stats_of(kv, 12).shm_bytes > 0u);
  });
}

TEST_CASE("row_sparse parts that do not fit in the segment go in the message, exactly",
          "[dist][shm][row_sparse]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) {
    c.shm_bytes = int64_t{1} << 20;  // the smallest segment: parts of 1.28 MB never fit
    c.shm_arena_bytes = 0;           // and rows are copied through it, not read in place
  };
  cluster.run("dist_sync", [](kvstore& kv) {
    const int64_t n = 10000, cols = 64;  // 5,000 rows (1.28 MB) on each server
    kv.init(10, ndarray::row_sparse({n, cols}, {}, ndarray::zeros({0, cols})));
    std::vector<int64_t> all(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r)
      all[static_cast<size_t>(r)] = r;
    kv.push(10, ndarray::row_sparse({n, cols}, all, ndarray::full({n, cols}, kv.rank() + 1)));
    auto out = ndarray::row_sparse({n, cols}, {}, ndarray::zeros({0, cols}));
    kv.row_sparse_pull(10, out, ndarray::from_vector(all, {n}));
    auto v = out.rows().to_vector<float>();
    EXPECT(out.row_ids() == all);
    EXPECT(std::all_of(v.begin(), v.end(), [](float x) { return x == 3.0f; }));
    EXPECT(stats_of(kv, 10).shm_bytes == 0u);
  });
}
