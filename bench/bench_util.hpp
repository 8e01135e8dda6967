#pragma once
// Timing helpers shared by the benchmarks: medians and percentiles of runs.
#include <algorithm>
#include <chrono>
#include <vector>

namespace kvs::bench {

using clock = std::chrono::steady_clock;

inline double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

// The q-quantile (0..1) of the samples, by nearest rank.
inline double quantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

template <class F>
std::vector<double> time_runs(int warmup, int runs, F body) {
  for (int i = 0; i < warmup; ++i)
    body();
  std::vector<double> out;
  for (int i = 0; i < runs; ++i) {
    auto t0 = clock::now();
    body();
    out.push_back(seconds_since(t0));
  }
  return out;
}

}  // namespace kvs::bench
