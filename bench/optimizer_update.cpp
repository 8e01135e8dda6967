// bench/optimizer_update: adam and sgd-with-momentum updates of a 16M-element
// float32 key through the store (push + update + wait_all, no pull), against
// a plain loop doing the same arithmetic on arrays of the same size in the
// same run. GB/s count the state touched: adam reads the gradient and reads
// and writes weight, mean and var (7 arrays); sgd reads the gradient and
// reads and writes weight and momentum (5). Median of RUNS runs.
//
// Run:    ./build/bench/optimizer_update [RUNS=15]
// Prints: one line per optimizer: store GB/s, plain GB/s, ratio.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <kvs/kvs.hpp>

#include "bench_util.hpp"

using namespace kvs;

namespace {

constexpr int64_t n = int64_t{16} << 20;

void plain_adam(float* w, const float* g, float* mean, float* var, float lr, float b1, float b2,
                float eps, float wd, float rescale) {
  for (int64_t i = 0; i < n; ++i) {
    float r = g[i] * rescale + w[i] * wd;
    mean[i] = b1 * mean[i] + (1.f - b1) * r;
    var[i] = b2 * var[i] + (1.f - b2) * r * r;
    w[i] = w[i] - lr * mean[i] / (std::sqrt(var[i]) + eps);
  }
}

void plain_sgd_mom(float* w, const float* g, float* mom, float lr, float m, float wd, float rescale) {
  for (int64_t i = 0; i < n; ++i) {
    float r = rescale * g[i];
    mom[i] = m * mom[i] - lr * wd * w[i] - lr * r;
    w[i] = w[i] + mom[i];
  }
}

double through_store(const std::shared_ptr<optimizer>& opt, int runs) {
  auto kv = create("local");
  kv->init(0, ndarray::full({n}, 0.5));
  kv->set_optimizer(opt);
  auto grad = ndarray::full({n}, 0.001);
  auto samples = bench::time_runs(2, runs, [&] {
    kv->push(0, grad);
    kv->wait_all();
  });
  return bench::quantile(samples, 0.5);
}

void report(const char* name, double arrays, double store_s, double plain_s) {
  double gb = arrays * n * sizeof(float) / 1e9;
  std::printf("%-13s store %6.2f GB/s  plain %6.2f GB/s  ratio %.2fx\n", name, gb / store_s,
              gb / plain_s, plain_s / store_s);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::max(10, std::atoi(argv[1])) : 15;
  std::printf("optimizer_update: 16M float32 elements, median of %d runs\n", runs);
  auto w = ndarray::full({n}, 0.5), g = ndarray::full({n}, 0.001), s1 = ndarray::zeros({n}),
       s2 = ndarray::zeros({n});
  float *pw = w.data<float>(), *p1 = s1.data<float>(), *p2 = s2.data<float>();
  const float* pg = g.data<float>();

  double adam_store = through_store(create_optimizer("adam", {{"learning_rate", 0.001}}), runs);
  auto adam_plain = bench::time_runs(2, runs, [&] {
    plain_adam(pw, pg, p1, p2, 0.001f, 0.9f, 0.999f, 1e-8f, 0.f, 1.f);
  });
  report("adam", 7, adam_store, bench::quantile(adam_plain, 0.5));

  double sgd_store =
      through_store(create_optimizer("sgd", {{"learning_rate", 0.01}, {"momentum", 0.9}}), runs);
  auto sgd_plain = bench::time_runs(2, runs, [&] {
    plain_sgd_mom(pw, pg, p1, 0.01f, 0.9f, 0.f, 1.f);
  });
  report("sgd+momentum", 5, sgd_store, bench::quantile(sgd_plain, 0.5));
  return 0;
}
