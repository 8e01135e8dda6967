// bench/gpu_reduce: the GPU reducer's sum of 4 device buffers of 64M floats
// against cudaMemcpy device-to-device in the same run (GB/s of bytes touched:
// 4 reads + 1 write for the sum, 1 read + 1 write for the copy); then the
// nccl store's pushpull against a bare ncclAllReduce on the same buffers.
// Median of RUNS runs. Without a GPU it says so and exits 0.
//
// Run:    ./build/bench/gpu_reduce [RUNS=15]
#include <cstdio>
#include <cstdlib>

#include <kvs/kvs.hpp>

#include "bench_util.hpp"
#include "core/array_impl.hpp"
#include "gpu/gpu_runtime.hpp"

using namespace kvs;

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::max(10, std::atoi(argv[1])) : 15;
  if (cuda::device_count() == 0) {
    std::printf("gpu_reduce: no GPU available (%s)\n", cuda::availability().c_str());
    return 0;
  }
  const int64_t n = int64_t{64} << 20;
  const double gb = static_cast<double>(n) * sizeof(float) / 1e9;
  auto raw = [](const ndarray& a) { return detail::ndarray_access::raw(a); };

  std::vector<ndarray> in;
  std::vector<const void*> ptrs;
  for (int k = 0; k < 4; ++k) {
    in.push_back(ndarray::full({n}, k + 1.0, dtype::f32, gpu(0)));
    ptrs.push_back(raw(in.back()));
  }
  auto out = ndarray::zeros({n}, dtype::f32, gpu(0));
  cuda::stream s(0);
  auto sum = bench::time_runs(3, runs, [&] { cuda::sum(s, dtype::f32, raw(out), ptrs, n, false); });
  auto copy = bench::time_runs(3, runs, [&] {
    cuda::copy(raw(out), gpu(0), raw(in[0]), gpu(0), static_cast<size_t>(n) * sizeof(float));
  });
  double sum_gbs = 5 * gb / bench::quantile(sum, 0.5), copy_gbs = 2 * gb / bench::quantile(copy, 0.5);
  std::printf("gpu_reduce: 4 x 64M f32 on gpu(0), median of %d\n", runs);
  std::printf("  sum kernel  %8.1f GB/s   cudaMemcpy D2D %8.1f GB/s   ratio %.2fx\n", sum_gbs,
              copy_gbs, sum_gbs / copy_gbs);

  int g = cuda::device_count();
  std::vector<ndarray> vals;
  std::vector<const void*> vin;
  std::vector<void*> vout;
  for (int d = 0; d < g; ++d) {
    vals.push_back(ndarray::full({n}, 1.0, dtype::f32, gpu(d)));
    vin.push_back(raw(vals.back()));
    vout.push_back(raw(vals.back()));
  }
  std::vector<int> devs;
  for (int d = 0; d < g; ++d)
    devs.push_back(d);
  {
    cuda::nccl_group group(devs);
    auto bare = bench::time_runs(3, runs, [&] { group.all_reduce(dtype::f32, vin, vout, n); });
    auto kv = create("nccl");
    kv->init(0, ndarray::zeros({n}, dtype::f32, gpu(0)));
    auto store = bench::time_runs(3, runs, [&] {
      kv->pushpull(0, vals);
      for (auto& v : vals)
        v.wait_to_read();
    });
    double b = bench::quantile(bare, 0.5), st = bench::quantile(store, 0.5);
    std::printf("  nccl store pushpull %8.3f ms   bare ncclAllReduce %8.3f ms   %+.1f%% (%d GPU)\n",
                st * 1e3, b * 1e3, (st / b - 1) * 100, g);
  }
  return 0;
}
