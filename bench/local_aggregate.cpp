// bench/local_aggregate: the local store's push from 4 devices plus a pull,
// against a plain single-pass out = a + b + c + d loop over the same arrays
// (same binary, same flags, buffers reused, median of RUNS runs); and the
// latency of push + pull of a 4-element key.
//
// Run:    ./build/bench/local_aggregate [RUNS=15]
// Prints one line per size:
//   size  store GB/s  plain GB/s  ratio  (plain 2-thread GB/s, ratio)
// then the median and p99 latency of a tiny push + pull in microseconds.
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <kvs/kvs.hpp>

#include "bench_util.hpp"

using namespace kvs;

namespace {

void plain_sum(const float* a, const float* b, const float* c, const float* d, float* out,
               size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i)
    out[i] = a[i] + b[i] + c[i] + d[i];
}

void aggregate(kvstore& kv, int runs, int64_t n) {
  std::vector<ndarray> in;
  for (int d = 0; d < 4; ++d)
    in.push_back(ndarray::full({n}, d + 1.0, dtype::f32, cpu(d)));
  auto out = ndarray::zeros({n});
  kv.init(n, ndarray::zeros({n}));
  double input_gb = 4.0 * n * sizeof(float) / 1e9;

  auto store = bench::time_runs(2, runs, [&] {
    kv.push(n, in);
    kv.pull(n, out);
    out.wait_to_read();
  });
  if (out.to_vector<float>()[static_cast<size_t>(n - 1)] != 10.0f) {
    std::fprintf(stderr, "wrong sum\n");
    std::exit(1);
  }
  const float *a = in[0].data<float>(), *b = in[1].data<float>(), *c = in[2].data<float>(),
              *d = in[3].data<float>();
  float* o = out.data<float>();
  auto plain = bench::time_runs(2, runs, [&] { plain_sum(a, b, c, d, o, 0, n); });
  auto plain2 = bench::time_runs(2, runs, [&] {
    std::thread t([&] { plain_sum(a, b, c, d, o, 0, n / 2); });
    plain_sum(a, b, c, d, o, n / 2, n);
    t.join();
  });
  double s = input_gb / bench::quantile(store, 0.5), p = input_gb / bench::quantile(plain, 0.5),
         p2 = input_gb / bench::quantile(plain2, 0.5);
  std::printf("%5lldM  store %6.2f GB/s  plain %6.2f GB/s  ratio %.2fx   (plain 2-thread %6.2f GB/s, ratio %.2fx)\n",
              static_cast<long long>(n >> 20), s, p, s / p, p2, s / p2);
}

void latency(kvstore& kv, int iterations) {
  kvs::key k = 4;
  kv.init(k, ndarray::zeros({4}));
  auto value = ndarray::full({4}, 1.0);
  auto out = ndarray::zeros({4});
  auto samples = bench::time_runs(1000, iterations, [&] {
    kv.push(k, value);
    kv.pull(k, out);
    out.wait_to_read();
  });
  std::printf("tiny push+pull (4 floats): median %.1f us, p99 %.1f us (%d runs)\n",
              bench::quantile(samples, 0.5) * 1e6, bench::quantile(samples, 0.99) * 1e6, iterations);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 15;
  if (runs < 10)
    runs = 10;
  auto kv = create("local");
  std::printf("local_aggregate: push of 4 float32 arrays + pull into 1, median of %d runs\n", runs);
  for (int64_t n : {int64_t{1} << 20, int64_t{16} << 20, int64_t{64} << 20})
    aggregate(*kv, runs, n);
  latency(*kv, 20000);
  return 0;
}
