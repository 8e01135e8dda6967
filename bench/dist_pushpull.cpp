// bench/dist_pushpull: the worker side of the distributed benchmark; run it
// under kvs-launch (bench/dist_pushpull.sh does, beside MPI_Allreduce).
// Each step is one dist_sync pushpull (every worker pushes, the servers sum,
// every worker pulls the sum) of one key of 4 KB, 1 MB, 16 MB, 64 MB, then
// of 1000 keys of 4 KB in one call. Median of RUNS steps after 3 warm-ups.
//
// Run:    ./build/tools/kvs-launch -n 2 -s 2 -- ./build/bench/dist_pushpull [RUNS=15] [COMPRESSION]
// Prints (rank 0), per size: ms per pushpull, GB/s of the key per worker;
// for 1000 keys also keys/s per worker.
// COMPRESSION (2bit, 1bit, fp16, none; "+pull" compresses pulls too, e.g.
// 2bit+pull): times only the 16 MB key's pushpull with that gradient
// compression (threshold 0.5) and prints one line, "16 MB <COMPRESSION>: <ms> ms".
// COMPRESSION "scale" instead: 100 keys from 4 KB to 4 MB (sizes growing
// geometrically, about 60 MB in all), a pushpull of every key per step (one
// call); prints "scale: <workers> workers, 100 keys (<MB> MB): <ms> ms".
// COMPRESSION "small" instead: only the small-message cases (the 4 KB key
// and the 1000 keys of 4 KB), printed in the lines above.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <kvs/kvs.hpp>

#include "bench_util.hpp"

using namespace kvs;

namespace {

// One 16 MB key under `mode`: the step time (median), printed by rank 0.
int compressed_step(const std::string& mode, int runs) {
  auto kv = create("dist_sync");
  auto plus = mode.find("+pull");
  compression c{mode.substr(0, plus), 0.5};
  c.compress_pull = plus != std::string::npos;
  if (c.type != "none")
    kv->set_gradient_compression(c);
  int64_t n = int64_t{4} << 20;
  kv->init(0, ndarray::zeros({n}));
  std::vector<float> g(static_cast<size_t>(n));
  for (size_t i = 0; i < g.size(); ++i)  // mixed signs, around the threshold
    g[i] = static_cast<float>(static_cast<int>(i % 17) - 8) * 0.125f;
  auto grad = ndarray::from_vector(g, {n}), out = ndarray::zeros({n});
  auto samples = bench::time_runs(3, runs, [&] {
    kv->pushpull(0, grad, out);
    out.wait_to_read();
  });
  if (kv->rank() == 0)
    std::printf("16 MB %s: %.3f ms\n", mode.c_str(), bench::quantile(samples, 0.5) * 1e3);
  kv->barrier();
  return 0;
}

// 100 keys of 4 KB to 4 MB, every key pushpulled each step: the step time
// (median), printed by rank 0 (issue 11's scale run).
int scale_step(int runs) {
  auto kv = create("dist_sync");
  std::vector<key> ks;
  std::vector<ndarray> grads, outs;
  int64_t total = 0;
  for (int i = 0; i < 100; ++i) {
    // 4 KB * 1024^(i/99): 4 KB for the first key, 4 MB for the last.
    auto n = static_cast<int64_t>(1024.0 * std::pow(1024.0, i / 99.0));
    ks.push_back(i);
    grads.push_back(ndarray::full({n}, 1.0));
    outs.push_back(ndarray::zeros({n}));
    total += n * 4;
  }
  kv->init(ks, outs);
  auto samples = bench::time_runs(3, runs, [&] {
    kv->pushpull(ks, grads, outs);
    kv->wait_all();
  });
  if (kv->rank() == 0)
    std::printf("scale: %d workers, 100 keys (%.1f MB): %.3f ms\n", kv->num_workers(),
                total / 1e6, bench::quantile(samples, 0.5) * 1e3);
  kv->barrier();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Lines go out as printed: a job that fails while it ends keeps its figures.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int runs = argc > 1 ? std::max(10, std::atoi(argv[1])) : 15;
  if (argc > 2 && std::string(argv[2]) == "scale")
    return scale_step(runs);
  bool small_only = argc > 2 && std::string(argv[2]) == "small";
  if (argc > 2 && !small_only)
    return compressed_step(argv[2], runs);
  auto kv = create("dist_sync");
  bool print = kv->rank() == 0;
  if (print)
    std::printf("dist_pushpull: %d workers, dist_sync, median of %d steps, KVS_SECURE=%s\n",
                kv->num_workers(), runs, std::getenv("KVS_SECURE") ? std::getenv("KVS_SECURE") : "");
  int64_t next_key = 0;
  for (int64_t bytes : {int64_t{4} << 10, int64_t{1} << 20, int64_t{16} << 20, int64_t{64} << 20}) {
    if (small_only && bytes > (int64_t{4} << 10))
      continue;
    int64_t n = bytes / 4;
    auto k = next_key++;
    kv->init(k, ndarray::zeros({n}));
    auto grad = ndarray::full({n}, 1.0), out = ndarray::zeros({n});
    auto samples = bench::time_runs(3, runs, [&] {
      kv->pushpull(k, grad, out);
      out.wait_to_read();
    });
    double s = bench::quantile(samples, 0.5);
    if (print)
      std::printf("  1 key of %6lld KB: %8.3f ms   %6.2f GB/s per worker\n",
                  static_cast<long long>(bytes >> 10), s * 1e3, bytes / s / 1e9);
    kv->barrier();
  }
  const int keys = 1000;
  std::vector<key> ks;
  std::vector<ndarray> grads, outs, zeros;
  for (int i = 0; i < keys; ++i) {
    ks.push_back(next_key++);
    grads.push_back(ndarray::full({1024}, 1.0));
    outs.push_back(ndarray::zeros({1024}));
    zeros.push_back(ndarray::zeros({1024}));
  }
  kv->init(ks, zeros);
  auto samples = bench::time_runs(3, runs, [&] {
    kv->pushpull(ks, grads, outs);
    kv->wait_all();
  });
  double s = bench::quantile(samples, 0.5);
  if (print)
    std::printf("  %d keys of 4 KB:  %8.3f ms   %6.2f GB/s, %.0f keys/s per worker\n", keys,
                s * 1e3, keys * 4096.0 / s / 1e9, keys / s);
  return 0;
}
