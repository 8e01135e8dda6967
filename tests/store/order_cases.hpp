#pragma once
// Per-key order through the public API, the same cases for every mode (the
// local stores here, the distributed ones in tests/dist/order_dist_test.cpp).
// A failed check throws std::runtime_error naming the case, the round, the
// key, the element and both values, so it works in cluster worker threads.
//
// Every case sets the "test" optimizer (w += g) and has each worker push, per
// round, (rank + 1) * (d + 1) from device cpu(d), d < 4: a round adds
// 10 * (rank + 1) per worker, 10 * n * (n + 1) / 2 over n workers. In
// dist_async ("masked") worker r's gradients are non-zero only on the elements
// i with i % n == r, so those elements of its pulls are exact whatever the
// other workers do; the rest is checked once every worker has finished.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <kvs/kvs.hpp>

namespace order {

constexpr int devices = 4;

inline int round_gain(int rank) { return devices * (devices + 1) / 2 * (rank + 1); }

// Throws when out[i] != want(i) for an element with a finite want(i).
template <class Want>
void check_array(const kvs::ndarray& out, Want want, const std::string& what) {
  auto v = out.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    double w = want(i);
    if (std::isnan(w) || v[i] == w)
      continue;
    throw std::runtime_error(what + ": element " + std::to_string(i) + " of " +
                             std::to_string(v.size()) + " is " + std::to_string(v[i]) +
                             ", expected " + std::to_string(w));
  }
}

enum class kind {
  per_device_push_then_pull,  // Module's loop: push(k, grads), pull(k, weights)
  single_push_then_pull,      // the same with the per-device sum pushed as one array
  push_then_pushpull,
  init_then_pull,
  pull_then_push_then_pull,
};

inline const char* name(kind c) {
  switch (c) {
    case kind::per_device_push_then_pull: return "per-device push then pull";
    case kind::single_push_then_pull: return "single-array push then pull";
    case kind::push_then_pushpull: return "push then pushpull";
    case kind::init_then_pull: return "init then pull";
    case kind::pull_then_push_then_pull: return "pull then push then pull";
  }
  return "?";
}

class runner {
public:
  // masked: dist_async (see above). first_key: keys first_key, first_key + 1...
  runner(kvs::kvstore& kv, std::vector<kvs::shape> shapes, bool masked, int first_key = 10)
      : kv_(kv), shapes_(std::move(shapes)), masked_(masked), first_key_(first_key),
        n_(kv.num_workers()), rank_(kv.rank()) {}

  void run(kind c, int rounds) {
    what_ = name(c);
    if (c == kind::init_then_pull)
      return init_then_pull(rounds);
    std::vector<kvs::key> keys;
    std::vector<kvs::ndarray> zeros;
    for (size_t k = 0; k < shapes_.size(); ++k) {
      keys.push_back(first_key_ + static_cast<int>(k));
      zeros.push_back(kvs::ndarray::zeros(shapes_[k]));
    }
    kv_.init(keys, zeros);
    kv_.set_optimizer(kvs::create_optimizer("test", {{"rescale_grad", 1}}));
    int done = 0;  // this worker's rounds so far
    for (int i = 1; i <= rounds; ++i)
      for (size_t k = 0; k < shapes_.size(); ++k) {
        auto& s = shapes_[k];
        std::string at = " (round " + std::to_string(i) + ", key " + keys[k].to_string() + ")";
        switch (c) {
          case kind::per_device_push_then_pull: {
            kv_.push(keys[k], grads(s));
            auto outs = outputs(s);
            kv_.pull(keys[k], outs);
            check_all(outs, i, at);
            done = i;
            break;
          }
          case kind::single_push_then_pull: {
            kv_.push(keys[k], summed_grad(s));
            auto out = kvs::ndarray::zeros(s);
            kv_.pull(keys[k], out);
            check_all({out}, i, at);
            done = i;
            break;
          }
          case kind::push_then_pushpull: {
            kv_.push(keys[k], grads(s));
            auto outs = outputs(s);
            kv_.pushpull(keys[k], grads(s), outs);
            check_all(outs, 2 * i, at);
            done = 2 * i;
            break;
          }
          case kind::pull_then_push_then_pull: {
            auto before = outputs(s);
            kv_.pull(keys[k], before);
            kv_.push(keys[k], grads(s));
            auto after = outputs(s);
            kv_.pull(keys[k], after);
            check_all(before, i - 1, at + " before the push");
            check_all(after, i, at + " after the push");
            done = i;
            break;
          }
          case kind::init_then_pull: break;
        }
      }
    if (!masked_)
      return;
    // dist_async: once every worker is done, every element holds every push.
    kv_.wait_all();
    kv_.barrier();
    for (size_t k = 0; k < shapes_.size(); ++k) {
      auto out = kvs::ndarray::zeros(shapes_[k]);
      kv_.pull(keys[k], out);
      check_array(
          out, [&](size_t e) { return double(done) * round_gain(static_cast<int>(e) % n_); },
          what_ + ": after the barrier, key " + keys[k].to_string());
    }
  }

private:
  void init_then_pull(int rounds) {
    for (int i = 1; i <= rounds; ++i)
      for (size_t k = 0; k < shapes_.size(); ++k) {
        kvs::key key = first_key_ + static_cast<int>(100 * i + k);
        double value = 100.0 * i + static_cast<double>(k);
        kv_.init(key, kvs::ndarray::full(shapes_[k], value));
        auto outs = outputs(shapes_[k]);
        kv_.pull(key, outs);
        for (auto& o : outs)
          check_array(
              o, [&](size_t) { return value; },
              what_ + " (round " + std::to_string(i) + ", key " + key.to_string() + ")");
      }
  }

  // cpu(d)'s gradient: (rank + 1) * (d + 1), masked in dist_async.
  kvs::ndarray grad(const kvs::shape& s, int d, int scale) const {
    auto g = kvs::ndarray::zeros(s, kvs::dtype::f32, kvs::cpu(d));
    float* p = g.data<float>();
    for (size_t i = 0; i < g.size(); ++i)
      if (!masked_ || static_cast<int>(i % static_cast<size_t>(n_)) == rank_)
        p[i] = static_cast<float>((rank_ + 1) * scale);
    return g;
  }
  std::vector<kvs::ndarray> grads(const kvs::shape& s) const {
    std::vector<kvs::ndarray> out;
    for (int d = 0; d < devices; ++d)
      out.push_back(grad(s, d, d + 1));
    return out;
  }
  kvs::ndarray summed_grad(const kvs::shape& s) const {
    return grad(s, 0, devices * (devices + 1) / 2);
  }
  static std::vector<kvs::ndarray> outputs(const kvs::shape& s) {
    std::vector<kvs::ndarray> out;
    for (int d = 0; d < devices; ++d)
      out.push_back(kvs::ndarray::full(s, -1.0, kvs::dtype::f32, kvs::cpu(d)));
    return out;
  }

  // After `rounds` rounds of this worker: every element in dist_sync and the
  // local stores, this worker's own elements in dist_async.
  double want(size_t e, int rounds) const {
    if (!masked_)
      return double(rounds) * devices * (devices + 1) / 2 * n_ * (n_ + 1) / 2;
    if (static_cast<int>(e % static_cast<size_t>(n_)) != rank_)
      return std::nan("");
    return double(rounds) * round_gain(rank_);
  }
  void check_all(const std::vector<kvs::ndarray>& outs, int rounds, const std::string& at) const {
    for (size_t d = 0; d < outs.size(); ++d)
      check_array(
          outs[d], [&](size_t e) { return want(e, rounds); },
          what_ + at + ", worker " + std::to_string(rank_) + ", output " + std::to_string(d));
  }

  kvs::kvstore& kv_;
  std::vector<kvs::shape> shapes_;
  bool masked_;
  int first_key_;
  int n_, rank_;
  std::string what_;
};

// Small keys, and keys above the bound the order tests configure (1000
// elements), split evenly and unevenly across servers.
inline std::vector<kvs::shape> shapes() { return {{2, 3}, {7}, {40, 30}, {37, 41}}; }
constexpr int64_t split_bound = 1000;

}  // namespace order
