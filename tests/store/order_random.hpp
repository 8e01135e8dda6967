#pragma once
// Random sequences of push, pull and pushpull (single arrays, per-device
// lists, list calls over two keys, in place or not, random priorities) from
// several threads at once, each thread on keys of its own, checked against a
// sequential model of the store. Nothing waits between calls except a
// periodic read of the latest output; every output is kept with the value it
// must hold and checked at the end.
//
// Values are a * (i % 5) + b for element i (integers, so sums are exact). In
// a cluster every worker issues the same pushes in the same order (drawn from
// a generator shared by thread index), worker r pushing (r + 1) times the
// drawn value, split at random over its devices; pulls, priorities and the
// splits come from the worker's own generator.
#include <cstdlib>
#include <exception>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <kvs/kvs.hpp>

namespace order {

// KVS_TEST_SEED replaces the default seed.
inline uint64_t test_seed() {
  if (const char* s = std::getenv("KVS_TEST_SEED"))
    return std::stoull(s);
  return 20240611;
}

struct random_plan {
  uint64_t seed = test_seed();
  int threads = 3;
  int events = 400;         // pushes or pushpulls per thread
  bool accumulate = true;   // the "test" optimizer: w += g; else w = g
};

struct coef {
  int64_t a = 0, b = 0;
  double at(size_t i) const { return double(a) * double(i % 5) + double(b); }
  coef& operator+=(coef o) {
    a += o.a;
    b += o.b;
    return *this;
  }
};

class random_run {
public:
  random_run(kvs::kvstore& kv, random_plan plan)
      : kv_(kv), plan_(plan), n_(kv.num_workers()), rank_(kv.rank()) {}

  // Throws the first failure, naming the seed.
  void run() {
    std::vector<kvs::key> keys;
    std::vector<kvs::ndarray> init;
    for (int t = 0; t < plan_.threads; ++t)
      for (size_t j = 0; j < shapes().size(); ++j) {
        keys.push_back(key_of(t, j));
        init.push_back(make(shapes()[j], start(t, j), kvs::cpu()));
      }
    kv_.init(keys, init);
    if (plan_.accumulate)
      kv_.set_optimizer(kvs::create_optimizer("test", {{"rescale_grad", 1}}));
    std::vector<std::vector<coef>> finals(static_cast<size_t>(plan_.threads));
    std::vector<std::thread> threads;
    for (int t = 0; t < plan_.threads; ++t)
      threads.emplace_back([this, t, &finals] {
        try {
          finals[static_cast<size_t>(t)] = thread_body(t);
        } catch (...) {
          note(std::current_exception());
        }
      });
    for (auto& th : threads)
      th.join();
    rethrow();
    for (auto& k : kept_)
      check(k.out, k.want, k.what);
    // The stored values once everything is done.
    for (int t = 0; t < plan_.threads; ++t)
      for (size_t j = 0; j < shapes().size(); ++j) {
        auto out = kvs::ndarray::zeros(shapes()[j]);
        kv_.pull(key_of(t, j), out);
        check(out, finals[static_cast<size_t>(t)][j],
              "final value of key " + key_of(t, j).to_string());
      }
  }

  size_t checked() const { return kept_.size(); }

private:
  struct kept {
    kvs::ndarray out;
    coef want;
    std::string what;
  };

  static const std::vector<kvs::shape>& shapes() {
    static const std::vector<kvs::shape> s{{2, 3}, {7}, {40, 30}, {37, 41}};
    return s;
  }
  static kvs::key key_of(int t, size_t j) { return 1000 * (t + 1) + static_cast<int>(j); }
  static coef start(int t, size_t j) { return {1, 10 * t + static_cast<int64_t>(j)}; }

  static kvs::ndarray make(const kvs::shape& s, coef c, kvs::device d) {
    auto x = kvs::ndarray::zeros(s, kvs::dtype::f32, d);
    float* p = x.data<float>();
    for (size_t i = 0; i < x.size(); ++i)
      p[i] = static_cast<float>(c.at(i));
    return x;
  }

  void check(const kvs::ndarray& out, coef want, const std::string& what) const {
    auto v = out.to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i)
      if (double(v[i]) != want.at(i))
        throw std::runtime_error("seed " + std::to_string(plan_.seed) + " (KVS_TEST_SEED), worker " +
                                 std::to_string(rank_) + ", " + what + ": element " +
                                 std::to_string(i) + " is " + std::to_string(v[i]) +
                                 ", expected " + std::to_string(want.at(i)));
  }

  void note(std::exception_ptr e) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!first_)
      first_ = e;
  }
  void rethrow() {
    if (first_)
      std::rethrow_exception(first_);
  }
  void keep(std::vector<kept>& mine, const kvs::ndarray& out, coef want, std::string what) {
    mine.push_back(kept{out, want, std::move(what)});
  }

  // This worker's share of a drawn value, split over 1 to 4 devices.
  static std::vector<kvs::ndarray> split(const kvs::shape& s, coef share, std::mt19937_64& own) {
    int m = 1 + static_cast<int>(own() % 4);
    std::vector<kvs::ndarray> out;
    coef left = share;
    for (int d = 0; d < m; ++d) {
      coef part = left;
      if (d + 1 < m) {
        part.a = static_cast<int64_t>(own() % static_cast<uint64_t>(left.a + 1));
        part.b = static_cast<int64_t>(own() % static_cast<uint64_t>(left.b + 1));
      }
      left.a -= part.a;
      left.b -= part.b;
      out.push_back(make(s, part, kvs::cpu(d)));
    }
    return out;
  }
  static std::vector<kvs::ndarray> outs(const kvs::shape& s, std::mt19937_64& own) {
    int m = 1 + static_cast<int>(own() % 3);
    std::vector<kvs::ndarray> out;
    for (int d = 0; d < m; ++d)
      out.push_back(kvs::ndarray::full(s, -7.0, kvs::dtype::f32, kvs::cpu(d)));
    return out;
  }

  std::vector<coef> thread_body(int t) {
    std::mt19937_64 shared(plan_.seed * 1000003 + static_cast<uint64_t>(t));
    std::mt19937_64 own(plan_.seed * 1000003 + static_cast<uint64_t>(t) +
                        7919 * static_cast<uint64_t>(rank_ + 1));
    size_t nkeys = shapes().size();
    std::vector<coef> stored;
    for (size_t j = 0; j < nkeys; ++j)
      stored.push_back(start(t, j));
    std::vector<kept> mine;
    auto prio = [&] { return static_cast<int>(own() % 7) - 3; };
    auto two_keys = [&](std::mt19937_64& g) {
      size_t a = g() % nkeys, b = g() % (nkeys - 1);
      return std::vector<size_t>{a, b >= a ? b + 1 : b};
    };
    for (int e = 0; e < plan_.events; ++e) {
      std::string at = "thread " + std::to_string(t) + " event " + std::to_string(e);
      // Pulls of this worker's own choosing.
      for (int p = static_cast<int>(own() % 3); p > 0; --p) {
        std::vector<size_t> js = own() % 4 == 0 ? two_keys(own) : std::vector<size_t>{own() % nkeys};
        std::vector<kvs::key> ks;
        std::vector<std::vector<kvs::ndarray>> os;
        for (auto j : js) {
          ks.push_back(key_of(t, j));
          os.push_back(outs(shapes()[j], own));
          for (size_t d = 0; d < os.back().size(); ++d)
            keep(mine, os.back()[d], stored[j],
                 at + ": pull of key " + ks.back().to_string() + " output " + std::to_string(d));
        }
        if (js.size() == 2)
          kv_.pull(ks, os, prio());
        else if (os[0].size() == 1 && own() % 2 == 0)
          kv_.pull(ks[0], os[0][0], prio());
        else
          kv_.pull(ks[0], os[0], prio());
      }
      // The push every worker makes: keys, kind and value from `shared`.
      std::vector<size_t> js = shared() % 4 == 0 ? two_keys(shared) : std::vector<size_t>{shared() % nkeys};
      int how = static_cast<int>(shared() % 3);  // push, pushpull, pushpull in place
      std::vector<kvs::key> ks;
      std::vector<std::vector<kvs::ndarray>> vals, os;
      for (auto j : js) {
        coef drawn{static_cast<int64_t>(shared() % 4), static_cast<int64_t>(1 + shared() % 5)};
        coef total{drawn.a * n_ * (n_ + 1) / 2, drawn.b * n_ * (n_ + 1) / 2};
        if (plan_.accumulate)
          stored[j] += total;
        else
          stored[j] = total;
        ks.push_back(key_of(t, j));
        vals.push_back(split(shapes()[j], coef{drawn.a * (rank_ + 1), drawn.b * (rank_ + 1)}, own));
        if (how == 1)
          os.push_back(outs(shapes()[j], own));
        auto& filled = how == 1 ? os.back() : vals.back();
        if (how != 0)
          for (size_t d = 0; d < filled.size(); ++d)
            keep(mine, filled[d], stored[j],
                 at + ": pushpull of key " + ks.back().to_string() + " output " +
                     std::to_string(d));
      }
      int pr = prio();
      bool single = js.size() == 1;
      if (how == 0) {
        if (single && vals[0].size() == 1)
          kv_.push(ks[0], vals[0][0], pr);
        else if (single)
          kv_.push(ks[0], vals[0], pr);
        else
          kv_.push(ks, vals, pr);
      } else if (how == 1) {
        if (single)
          kv_.pushpull(ks[0], vals[0], os[0], pr);
        else
          kv_.pushpull(ks, vals, os, pr);
      } else {
        if (single && vals[0].size() == 1)
          kv_.pushpull(ks[0], vals[0][0], pr);
        else if (single)
          kv_.pushpull(ks[0], vals[0], pr);
        else
          kv_.pushpull(ks, vals, pr);
      }
      // Now and then, read the latest output at once.
      if (e % 20 == 19 && !mine.empty())
        check(mine.back().out, mine.back().want, mine.back().what + " (read at once)");
    }
    std::lock_guard<std::mutex> guard{mtx_};
    kept_.insert(kept_.end(), mine.begin(), mine.end());
    return stored;
  }

  kvs::kvstore& kv_;
  random_plan plan_;
  int n_, rank_;
  std::mutex mtx_;
  std::exception_ptr first_;
  std::vector<kept> kept_;
};

}  // namespace order
