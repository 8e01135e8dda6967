#pragma once
// Two dense layers in plain C++: 64 inputs -> H hidden (ReLU) -> 10 scores,
// softmax cross-entropy. Parameters are kvs::ndarrays: W1 (H,64), b1 (H),
// W2 (10,H), b2 (10), one copy per device.
#include <cmath>
#include <random>
#include <vector>

#include <kvs/kvs.hpp>

namespace mlp {

constexpr int inputs = 64, classes = 10;

inline std::vector<kvs::shape> param_shapes(int hidden) {
  return {{hidden, inputs}, {hidden}, {classes, hidden}, {classes}};
}

// Glorot-uniform weights and zero biases, from a fixed seed.
inline std::vector<kvs::ndarray> initial_params(int hidden, kvs::device dev) {
  std::mt19937 rng(7);
  std::vector<kvs::ndarray> out;
  for (auto& s : param_shapes(hidden)) {
    auto a = kvs::ndarray::zeros(s, kvs::dtype::f32, dev);
    if (s.size() == 2) {
      float limit = std::sqrt(6.0f / static_cast<float>(s[0] + s[1]));
      auto* p = a.data<float>();
      for (size_t i = 0; i < a.size(); ++i)
        p[i] = (static_cast<float>(rng() % 20001) / 10000.0f - 1.0f) * limit;
    }
    out.push_back(a);
  }
  return out;
}

struct scratch {
  std::vector<float> h, p, dh;
};

// Forward pass of one row: hidden activations in s.h, probabilities in s.p;
// returns the loss.
inline float forward(const std::vector<const float*>& w, int hidden, const float* x, int y,
                     scratch& s) {
  s.h.assign(static_cast<size_t>(hidden), 0);
  s.p.assign(classes, 0);
  for (int j = 0; j < hidden; ++j) {
    float a = w[1][j];
    for (int i = 0; i < inputs; ++i)
      a += w[0][j * inputs + i] * x[i];
    s.h[static_cast<size_t>(j)] = a > 0 ? a : 0;
  }
  float top = -1e30f;
  for (int c = 0; c < classes; ++c) {
    float a = w[3][c];
    for (int j = 0; j < hidden; ++j)
      a += w[2][c * hidden + j] * s.h[static_cast<size_t>(j)];
    s.p[static_cast<size_t>(c)] = a;
    top = std::max(top, a);
  }
  float sum = 0;
  for (auto& v : s.p)
    sum += (v = std::exp(v - top));
  for (auto& v : s.p)
    v /= sum;
  return -std::log(std::max(s.p[static_cast<size_t>(y)], 1e-12f));
}

// Adds the gradient of one row's loss (after forward) to g.
inline void backward(const std::vector<const float*>& w, int hidden, const float* x, int y,
                     scratch& s, const std::vector<float*>& g) {
  s.dh.assign(static_cast<size_t>(hidden), 0);
  for (int c = 0; c < classes; ++c) {
    float d = s.p[static_cast<size_t>(c)] - (c == y ? 1.0f : 0.0f);
    g[3][c] += d;
    for (int j = 0; j < hidden; ++j) {
      g[2][c * hidden + j] += d * s.h[static_cast<size_t>(j)];
      s.dh[static_cast<size_t>(j)] += d * w[2][c * hidden + j];
    }
  }
  for (int j = 0; j < hidden; ++j) {
    if (s.h[static_cast<size_t>(j)] <= 0)
      continue;
    float d = s.dh[static_cast<size_t>(j)];
    g[1][j] += d;
    for (int i = 0; i < inputs; ++i)
      g[0][j * inputs + i] += d * x[i];
  }
}

inline int argmax(const std::vector<float>& p) {
  return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
}

}  // namespace mlp
