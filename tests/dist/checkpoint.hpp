#pragma once
// The training job of the restart tests (in process and through
// kvs-launch): adam on a small key and two keys split across servers (with
// a bigarray bound of 1000), gradients a fixed function of step, rank, key
// and element, so a run's weights depend only on the steps it ran.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <kvs/kvs.hpp>

namespace checkpoint {

inline const std::vector<kvs::key>& keys() {
  static const std::vector<kvs::key> k{0, 1, 2};
  return k;
}
// 6 elements whole; 2000 split evenly; 3001 split unevenly.
inline const std::vector<kvs::shape>& shapes() {
  static const std::vector<kvs::shape> s{{2, 3}, {50, 40}, {3001}};
  return s;
}
constexpr int64_t bigarray_bound = 1000;

inline std::shared_ptr<kvs::optimizer> adam() {
  return kvs::create_optimizer("adam", {{"learning_rate", 0.01}, {"wd", 0.001}});
}

inline kvs::ndarray gradient(int step, int rank, size_t k, const kvs::shape& s) {
  auto n = static_cast<size_t>(kvs::ndarray::zeros(s).size());
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(static_cast<int>((i * 31 + step * 17 + rank * 7 + k * 3) % 23) - 11) *
           0.01f;
  return kvs::ndarray::from_vector(v, s);
}

inline std::vector<kvs::ndarray> starting_weights() {
  std::vector<kvs::ndarray> w;
  for (auto& s : shapes())
    w.push_back(kvs::ndarray::full(s, 0.5));
  return w;
}

// Steps first..last (inclusive): every worker pushes its gradients, then
// pulls the updated weights.
inline void run_steps(kvs::kvstore& kv, int first, int last) {
  for (int step = first; step <= last; ++step) {
    std::vector<kvs::ndarray> grads, outs;
    for (size_t k = 0; k < keys().size(); ++k) {
      grads.push_back(gradient(step, kv.rank(), k, shapes()[k]));
      outs.push_back(kvs::ndarray::zeros(shapes()[k]));
    }
    kv.push(keys(), grads);
    kv.pull(keys(), outs);
  }
  kv.wait_all();
}

inline std::vector<std::vector<float>> pull_weights(kvs::kvstore& kv) {
  std::vector<kvs::ndarray> outs;
  for (auto& s : shapes())
    outs.push_back(kvs::ndarray::zeros(s));
  kv.pull(keys(), outs);
  std::vector<std::vector<float>> out;
  for (auto& o : outs)
    out.push_back(o.to_vector<float>());
  return out;
}

inline std::vector<kvs::ndarray> as_arrays(const std::vector<std::vector<float>>& w) {
  std::vector<kvs::ndarray> out;
  for (size_t k = 0; k < w.size(); ++k)
    out.push_back(kvs::ndarray::from_vector(w[k], shapes()[k]));
  return out;
}

// FNV-1a 64 of the weights' bytes: equal hashes, equal bits (here).
inline uint64_t hash(const std::vector<std::vector<float>>& w) {
  uint64_t h = 14695981039346656037ull;
  for (auto& v : w)
    for (float f : v) {
      unsigned char b[sizeof(float)];
      std::memcpy(b, &f, sizeof(float));
      for (auto c : b) {
        h ^= c;
        h *= 1099511628211ull;
      }
    }
  return h;
}

inline void write_weights(const std::string& path, const std::vector<std::vector<float>>& w) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (auto& v : w)
    out.write(reinterpret_cast<const char*>(v.data()),
              static_cast<std::streamsize>(v.size() * sizeof(float)));
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

inline std::vector<std::vector<float>> read_weights(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::vector<float>> w;
  for (auto& s : shapes()) {
    std::vector<float> v(static_cast<size_t>(kvs::ndarray::zeros(s).size()));
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    w.push_back(std::move(v));
  }
  if (!in)
    throw std::runtime_error("cannot read " + path);
  return w;
}

}  // namespace checkpoint
