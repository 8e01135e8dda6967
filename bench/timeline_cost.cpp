// bench/timeline_cost: what KVS_TIMELINE costs. The same tiny push + pull
// (a 4-element key, 4 devices) and a 1M-element one in two local stores side
// by side, one without a timeline and one writing it, in alternating blocks
// so machine noise hits both alike; prints median and p99 per pair in
// microseconds and the ratio on/off. (Off against no hooks at all is the
// same loop in bench/local_aggregate's tiny latency, before and after.)
//
// Run:    ./build/bench/timeline_cost [BLOCKS=20]
// Prints: elements  off median/p99 us  on median/p99 us  ratio of medians
#include <cstdio>
#include <cstdlib>
#include <string>

#include <kvs/kvs.hpp>

#include "bench_util.hpp"

using namespace kvs;

namespace {

struct lane {
  std::unique_ptr<kvstore> kv;
  std::vector<ndarray> in;
  ndarray out;
  std::vector<double> samples;
};

lane make_lane(const std::string& timeline, int64_t n) {
  config cfg;
  cfg.timeline = timeline;
  lane l{create("local", cfg), {}, ndarray::zeros({n}), {}};
  for (int d = 0; d < 4; ++d)
    l.in.push_back(ndarray::full({n}, 1.0, dtype::f32, cpu(d)));
  l.kv->init(1, ndarray::zeros({n}));
  return l;
}

void block(lane& l, int ops) {
  auto s = bench::time_runs(ops / 10, ops, [&] {
    l.kv->push(1, l.in);
    l.kv->pull(1, l.out);
    l.out.wait_to_read();
  });
  l.samples.insert(l.samples.end(), s.begin(), s.end());
}

}  // namespace

int main(int argc, char** argv) {
  int blocks = argc > 1 ? std::atoi(argv[1]) : 20;
  std::printf("elements  off median/p99 us  on median/p99 us  ratio of medians\n");
  for (int64_t n : {int64_t{4}, int64_t{1} << 20}) {
    int ops = n < 1000 ? 500 : 10;
    auto off = make_lane("", n);
    auto on = make_lane("/tmp/kvs_timeline_cost.json", n);
    for (int b = 0; b < blocks; ++b) {
      block(off, ops);
      block(on, ops);
    }
    double m_off = bench::quantile(off.samples, 0.5) * 1e6, m_on = bench::quantile(on.samples, 0.5) * 1e6;
    std::printf("%8lld  %8.1f / %8.1f  %8.1f / %8.1f  %.3f\n", static_cast<long long>(n), m_off,
                bench::quantile(off.samples, 0.99) * 1e6, m_on,
                bench::quantile(on.samples, 0.99) * 1e6, m_on / m_off);
  }
  std::remove("/tmp/kvs_timeline_cost.json");
}
