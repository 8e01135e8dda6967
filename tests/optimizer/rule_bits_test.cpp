// The lazy rules run in clones for wider vectors (core/optimizer_math.cpp):
// each must give the bits of MXNet's formula evaluated one float operation
// at a time, with nothing fused (a multiply-add rounds once, not twice).
// Random values, so a fused or reordered operation shows in the last bit.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "../test_config.hpp"

using namespace kvs;

namespace {

constexpr int64_t rows = 37, cols = 29;  // not a multiple of any vector width

// Each operation rounded to float on its own (a volatile store cannot fuse).
float mul(float a, float b) {
  volatile float r = a * b;
  return r;
}
float add(float a, float b) {
  volatile float r = a + b;
  return r;
}
float sub(float a, float b) {
  volatile float r = a - b;
  return r;
}
float div(float a, float b) {
  volatile float r = a / b;
  return r;
}

std::vector<float> random_values(size_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v)
    x = d(rng);
  return v;
}

// Two steps of `opt` on w0, with row_sparse gradients (rows 1, 5, 36: the
// lazy row loop) or dense ones (all rows).
std::vector<float> run(const optimizer& opt, const std::vector<float>& w0,
                       const std::vector<std::vector<float>>& grads, bool sparse) {
  auto w = ndarray::from_vector(w0, {rows, cols});
  std::vector<ndarray> state;
  for (uint32_t i = 0; i < opt.state_arrays(); ++i)
    state.push_back(ndarray::zeros({rows, cols}));
  for (size_t t = 0; t < grads.size(); ++t) {
    if (!sparse) {
      opt.update(ndarray::from_vector(grads[t], {rows, cols}), w, state, t + 1);
      continue;
    }
    std::vector<float> g;
    for (int64_t r : {1, 5, 36})
      g.insert(g.end(), grads[t].begin() + r * cols, grads[t].begin() + (r + 1) * cols);
    opt.update(ndarray::row_sparse({rows, cols}, {1, 5, 36}, ndarray::from_vector(g, {3, cols})),
               w, state, t + 1);
  }
  return w.to_vector<float>();
}

bool touched(size_t i, bool sparse) {
  auto r = static_cast<int64_t>(i) / cols;
  return !sparse || r == 1 || r == 5 || r == 36;
}

}  // namespace

TEST_CASE("lazy sgd and adam give the bits of their formulas, one float operation at a time", "[optimizer]") {
  auto w0 = random_values(rows * cols, 1, -2, 2);
  std::vector<std::vector<float>> grads = {random_values(rows * cols, 2, -1, 1),
                                           random_values(rows * cols, 3, -1, 1)};
  for (bool sparse : {true, false}) {
    INFO((sparse ? "row_sparse gradient" : "dense gradient"));
    {  // sgd: w = (1 - lr*wd) w - lr g
      const double lr = 0.1, wd = 0.01;
      auto got = run(*create_optimizer("sgd", {{"learning_rate", lr}, {"wd", wd}}), w0, grads,
                     sparse);
      auto want = w0;
      const float flr = static_cast<float>(lr), keep = sub(1.0f, mul(flr, static_cast<float>(wd)));
      for (auto& g : grads)
        for (size_t i = 0; i < want.size(); ++i)
          if (touched(i, sparse))
            want[i] = sub(mul(keep, want[i]), mul(flr, g[i]));
      INFO("sgd");
      REQUIRE(got == want);
    }
    {  // adam: r = g + wd w; m, v; w -= lr_t m / (sqrt(v) + eps)
      const double lr = 0.01, wd = 0.001, b1 = 0.9, b2 = 0.999, eps = 1e-8;
      auto got = run(*create_optimizer("adam", {{"learning_rate", lr}, {"wd", wd}}), w0, grads,
                     sparse);
      auto want = w0;
      std::vector<float> m(want.size(), 0.0f), v(want.size(), 0.0f);
      const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
      for (size_t t = 0; t < grads.size(); ++t) {
        auto step = static_cast<double>(t + 1);  // lr_t as Adam.update: in double, then float
        auto lr_t = static_cast<float>(lr * std::sqrt(1. - std::pow(b2, step)) /
                                       (1. - std::pow(b1, step)));
        for (size_t i = 0; i < want.size(); ++i) {
          if (!touched(i, sparse))
            continue;
          float r = add(grads[t][i], mul(want[i], static_cast<float>(wd)));
          m[i] = add(mul(fb1, m[i]), mul(sub(1.0f, fb1), r));
          v[i] = add(mul(fb2, v[i]), mul(mul(sub(1.0f, fb2), r), r));
          volatile float root = std::sqrt(v[i]);
          want[i] = sub(want[i], div(mul(lr_t, m[i]), add(root, static_cast<float>(eps))));
        }
      }
      INFO("adam");
      REQUIRE(got == want);
    }
  }
}
