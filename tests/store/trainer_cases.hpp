#pragma once
// A small model for the trainer's tests: parameters on several devices,
// gradients that depend on the step, the device and the worker, and each
// step of Module's policy written out by hand against a store, so a test can
// compare kvs::trainer with it bit for bit.
#include <string>
#include <vector>

#include <kvs/kvs.hpp>

namespace trainer_cases {

using lists = std::vector<std::vector<kvs::ndarray>>;

inline const std::vector<kvs::shape>& shapes() {
  static const std::vector<kvs::shape> s{{3, 4}, {4}, {2, 2, 2}};
  return s;
}

// Weights: the same on every device but for `skew` (devices start apart, the
// trainer's init pull must make them equal); rank shifts them too.
inline lists make_params(int devices, int rank = 0, float skew = 0) {
  lists out(shapes().size());
  for (size_t i = 0; i < shapes().size(); ++i)
    for (int k = 0; k < devices; ++k) {
      auto w = kvs::ndarray::zeros(shapes()[i], kvs::dtype::f32, kvs::cpu(k));
      auto* p = w.data<float>();
      for (size_t e = 0; e < w.size(); ++e)
        p[e] = 0.1f * static_cast<float>(e + i) - 0.3f + skew * static_cast<float>(k) +
               0.5f * static_cast<float>(rank);
      out[i].push_back(w);
    }
  return out;
}

inline lists make_grads(int devices) {
  lists out(shapes().size());
  for (size_t i = 0; i < shapes().size(); ++i)
    for (int k = 0; k < devices; ++k)
      out[i].push_back(kvs::ndarray::zeros(shapes()[i], kvs::dtype::f32, kvs::cpu(k)));
  return out;
}

// Gradients of step `t` (inexact in float, so order and rounding show).
inline void fill_grads(lists& grads, int t, int rank = 0) {
  for (size_t i = 0; i < grads.size(); ++i)
    for (size_t k = 0; k < grads[i].size(); ++k) {
      auto* p = grads[i][k].data<float>();
      for (size_t e = 0; e < grads[i][k].size(); ++e)
        p[e] = 0.013f * static_cast<float>((e * 7 + i * 3 + k * 5 + static_cast<size_t>(t) * 11 +
                                            static_cast<size_t>(rank) * 13) % 17) -
               0.1f / static_cast<float>(t + 1);
    }
}

inline std::vector<kvs::key> keys_of(size_t n, const std::vector<std::string>& names = {}) {
  std::vector<kvs::key> keys;
  for (size_t i = 0; i < n; ++i)
    keys.push_back(names.empty() ? kvs::key(static_cast<int64_t>(i)) : kvs::key(names[i]));
  return keys;
}

// Module's policy by hand: _initialize_kvstore then _update_params_on_kvstore
// (on_store) or _update_params with an updater per device.
struct by_hand {
  kvs::kvstore& kv;
  lists params, grads;
  std::shared_ptr<kvs::optimizer> opt;
  bool on_store;
  std::vector<kvs::key> keys = keys_of(params.size());
  std::vector<std::vector<kvs::ndarray>> states = {};
  std::vector<uint64_t> counts = {};

  void init() {
    if (on_store)
      kv.set_optimizer(opt);
    for (size_t i = 0; i < params.size(); ++i)
      kv.init(keys[i], params[i][0]);
    for (size_t i = 0; i < params.size(); ++i)
      kv.pull(keys[i], params[i], -static_cast<int>(i));
    size_t d = params[0].size();
    states.assign(params.size() * d, {});
    counts.assign(params.size() * d, 0);
  }

  void step() {
    for (size_t i = 0; i < params.size(); ++i) {
      if (on_store)
        kv.pushpull(keys[i], grads[i], params[i], -static_cast<int>(i));
      else
        kv.pushpull(keys[i], grads[i], -static_cast<int>(i));
    }
    if (on_store)
      return;
    size_t d = params[0].size();
    for (size_t k = 0; k < d; ++k)
      for (size_t i = 0; i < params.size(); ++i) {
        size_t index = i * d + k;
        if (states[index].empty())
          for (uint32_t s = 0; s < opt->state_arrays(); ++s)
            states[index].push_back(kvs::ndarray::zeros(params[i][k].shape()));
        grads[i][k].wait_to_read();
        opt->update(grads[i][k], params[i][k], states[index], ++counts[index]);
      }
  }
};

inline std::vector<std::vector<float>> values(const lists& params) {
  std::vector<std::vector<float>> out;
  for (auto& p : params)
    for (auto& a : p)
      out.push_back(a.to_vector<float>());
  return out;
}

}  // namespace trainer_cases
