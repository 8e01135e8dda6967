// bench/quantize: the quantizers of gradient compression on one core, beside
// a plain copy of the same input: GB/s of float32 input (64 MB, reused
// buffers, median of RUNS after 2 warm-ups).
//
// Run:    ./build/bench/quantize [RUNS=15]
// Prints: one line per operation: ms, GB/s of input, and the ratio to memcpy.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "core/compression.hpp"

using namespace kvs;
using kvs::detail::codec;

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::max(5, std::atoi(argv[1])) : 15;
  const size_t n = size_t{16} << 20;  // 64 MB of floats
  std::vector<float> g(n), r(n, 0.0f), back(n), copy(n);
  for (size_t i = 0; i < n; ++i)  // mixed signs, around the threshold
    g[i] = static_cast<float>(static_cast<int>(i % 17) - 8) * 0.125f;
  std::vector<uint8_t> packed(detail::packed_bytes(codec::fp16, n));
  double bytes = static_cast<double>(n * sizeof(float));
  auto timed = [&](const std::function<void()>& body) {
    return bench::quantile(bench::time_runs(2, runs, body), 0.5);
  };
  double base = timed([&] { std::memcpy(copy.data(), g.data(), n * sizeof(float)); });
  std::printf("quantize: one core, %zu MB of float32 input, median of %d runs\n",
              n * sizeof(float) >> 20, runs);
  auto line = [&](const std::string& what, double s) {
    std::printf("  %-18s %7.2f ms  %6.2f GB/s  %5.2fx memcpy's time\n", what.c_str(), s * 1e3,
                bytes / s / 1e9, s / base);
  };
  line("memcpy", base);
  for (auto c : {codec::two_bit, codec::one_bit, codec::fp16}) {
    std::string name = detail::codec_name(c);
    line(name + " compress", timed([&] { detail::compress(c, g.data(), r.data(), n, 0.5f, packed.data()); }));
    line(name + " decompress", timed([&] { detail::decompress(c, packed.data(), n, 0.5f, back.data()); }));
  }
  return 0;
}
