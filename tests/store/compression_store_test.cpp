// Gradient compression in the device store (4 logical devices, one residual
// per key per device) through the public API, values checked exactly
// against the plain reference (tests/compression_reference.hpp); errors.
#include <catch2/catch.hpp>

#include "../compression_reference.hpp"
#include "../test_config.hpp"

using namespace kvs;

namespace {

constexpr int devices = 4;

// Device d's gradient of round `round` for element i: mixed signs, below,
// at and above the threshold 0.5 (halves and quarters: sums stay exact).
float grad(int d, int round, size_t i) {
  static const float pattern[] = {0.5f, -0.5f, 0.25f, -0.25f, 0.75f, -1.0f, 0.0f, 1.5f, -0.75f};
  return pattern[(i + 3 * static_cast<size_t>(d) + 5 * static_cast<size_t>(round)) % 9] *
         (d % 2 == 0 ? 1.0f : -1.0f);
}

std::vector<float> grads(int d, int round, size_t n) {
  std::vector<float> g(n);
  for (size_t i = 0; i < n; ++i)
    g[i] = grad(d, round, i);
  return g;
}

struct model {  // the reference store: residuals per device, stored = the sum
  std::string type;
  float t;
  std::vector<std::vector<float>> residual;
  std::vector<float> stored;
  model(std::string ty, float th, size_t n, float init)
      : type(std::move(ty)), t(th), residual(devices, std::vector<float>(n, 0.0f)), stored(n, init) {}
  void push(int round) {
    std::vector<float> sum(stored.size(), 0.0f);
    for (int d = 0; d < devices; ++d) {
      auto sent = ref::send(type, grads(d, round, stored.size()), residual[d], t);
      for (size_t i = 0; i < sum.size(); ++i)
        sum[i] += sent[i];
    }
    stored = sum;
  }
};

std::vector<ndarray> device_grads(int round, size_t n) {
  std::vector<ndarray> out;
  for (int d = 0; d < devices; ++d)
    out.push_back(ndarray::from_vector(grads(d, round, n), {static_cast<int64_t>(n)}, cpu(d)));
  return out;
}

void check_rounds(const std::string& type, float t) {
  auto kv = create("device", test_config());
  kv->set_gradient_compression({type, t});
  std::vector<size_t> sizes{5, 1003};  // a key under one word, and a big one
  std::vector<model> models;
  for (size_t k = 0; k < sizes.size(); ++k) {
    kv->init(static_cast<int>(k), ndarray::full({static_cast<int64_t>(sizes[k])}, 0.3));
    models.emplace_back(type, t, sizes[k], 0.3f);
  }
  for (size_t k = 0; k < sizes.size(); ++k) {  // init is never compressed
    auto out = ndarray::zeros({static_cast<int64_t>(sizes[k])});
    kv->pull(static_cast<int>(k), out);
    REQUIRE(out.to_vector<float>() == models[k].stored);
  }
  for (int round = 0; round < 5; ++round)
    for (size_t k = 0; k < sizes.size(); ++k) {
      INFO(type << " key " << k << " round " << round);
      kv->push(static_cast<int>(k), device_grads(round, sizes[k]));
      models[k].push(round);
      auto out = ndarray::zeros({static_cast<int64_t>(sizes[k])}, dtype::f32, cpu(1));
      kv->pull(static_cast<int>(k), out);
      REQUIRE(out.to_vector<float>() == models[k].stored);
    }
}

}  // namespace

TEST_CASE("2bit on a device store with 4 devices matches the reference over rounds",
          "[store][compression]") {
  check_rounds("2bit", 0.5f);
}

TEST_CASE("1bit on a device store with 4 devices matches the reference over rounds",
          "[store][compression]") {
  check_rounds("1bit", 0.5f);
  check_rounds("1bit", 0.25f);
}

TEST_CASE("fp16 on a device store sends halves and sums them in float", "[store][compression]") {
  auto kv = create("device", test_config());
  kv->set_gradient_compression({"fp16"});
  size_t n = 37;
  kv->init(1, ndarray::zeros({37}));
  std::vector<float> want(n, 0.0f);
  std::vector<ndarray> in;
  for (int d = 0; d < devices; ++d) {
    std::vector<float> g(n);
    for (size_t i = 0; i < n; ++i)
      g[i] = 0.1f * static_cast<float>(i + 1) / static_cast<float>(d + 3);  // not halves
    for (size_t i = 0; i < n; ++i)
      want[i] += ref::half(g[i]);
    in.push_back(ndarray::from_vector(g, {37}, cpu(d)));
  }
  auto out = ndarray::zeros({37});
  kv->pushpull(1, in, std::vector<ndarray>{out});
  REQUIRE(out.to_vector<float>() == want);
  REQUIRE(out.to_vector<float>()[0] != 0.1f / 3 + 0.1f / 4 + 0.1f / 5 + 0.1f / 6);
}

TEST_CASE("compressed pulls on a device store: the store packs the sum with its own residual",
          "[store][compression]") {
  auto kv = create("device", test_config());
  compression c{"2bit", 0.5};
  c.compress_pull = true;
  kv->set_gradient_compression(c);
  size_t n = 21;
  kv->init(4, ndarray::full({21}, 0.3));
  auto out = ndarray::zeros({21});
  kv->pull(4, out);  // before any round: the init value, plain
  REQUIRE(out.to_vector<float>() == std::vector<float>(n, 0.3f));
  model m("2bit", 0.5f, n, 0.3f);
  std::vector<float> pull_residual(n, 0.0f);
  std::vector<float> want;
  for (int round = 0; round < 5; ++round) {
    kv->pushpull(4, device_grads(round, n), std::vector<ndarray>{out});
    m.push(round);
    want = ref::send("2bit", m.stored, pull_residual, 0.5f);
    INFO("round " << round);
    REQUIRE(out.to_vector<float>() == want);
  }
  // A pull is a read: pulling the same sum again gets the same values, and
  // the residual is not charged twice (the next round shows it).
  kv->pull(4, out);
  REQUIRE(out.to_vector<float>() == want);
  kv->pull(4, out);
  REQUIRE(out.to_vector<float>() == want);
  kv->pushpull(4, device_grads(5, n), std::vector<ndarray>{out});
  m.push(5);
  REQUIRE(out.to_vector<float>() == ref::send("2bit", m.stored, pull_residual, 0.5f));
}

TEST_CASE("gradient compression errors name what was wrong", "[store][compression][errors]") {
  for (auto type : {"local", "local_update_cpu", "local_allreduce_cpu"}) {
    auto kv = create(type, test_config());
    require_message([&] { kv->set_gradient_compression({"2bit", 0.5}); }, errc::unsupported,
                    {"set_gradient_compression", type, "device, dist_sync"});
    REQUIRE_FALSE(kv->is_capable("gradient_compression"));
  }
  auto kv = create("device", test_config());
  REQUIRE(kv->is_capable("gradient_compression"));
  require_message([&] { kv->set_gradient_compression({"2bit", 0}); }, errc::invalid_argument,
                  {"threshold > 0"});
  require_message([&] { kv->set_gradient_compression({"1bit", -1}); }, errc::invalid_argument,
                  {"threshold > 0"});
  require_message([&] { kv->set_gradient_compression({"3bit", 0.5}); }, errc::invalid_argument,
                  {"\"3bit\"", "2bit, 1bit, fp16"});
  kv->set_gradient_compression({"2bit", 0.5});
  kv->init(1, ndarray::zeros({4, 2}));
  kv->init(2, ndarray::zeros({3}, dtype::f64));
  require_message([&] { kv->set_gradient_compression({"1bit", 0.5}); }, errc::invalid_argument,
                  {"before the first init"});
  auto sparse = ndarray::row_sparse({4, 2}, {1}, ndarray::full({1, 2}, 1.0));
  require_message([&] { kv->push(1, sparse); }, errc::unsupported, {"key 1", "row_sparse"});
  require_message([&] { kv->push(2, ndarray::zeros({3}, dtype::f64)); }, errc::dtype_mismatch,
                  {"key 2", "f64", "float32"});
}

TEST_CASE("compressed pulls and an optimizer in the store exclude each other",
          "[store][compression][errors]") {
  compression c{"1bit", 0.5};
  c.compress_pull = true;
  {
    auto kv = create("device", test_config());
    kv->set_gradient_compression(c);
    require_message([&] { kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.1}})); },
                    errc::invalid_argument, {"set_optimizer", "compress_pull"});
    require_message([&] { kv->set_updater([](const key&, const ndarray&, ndarray&) {}); },
                    errc::invalid_argument, {"set_updater", "compress_pull"});
  }
  auto kv = create("device", test_config());
  kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.1}}));
  require_message([&] { kv->set_gradient_compression(c); }, errc::invalid_argument,
                  {"compress_pull", "optimizer"});
  kv->set_gradient_compression({"1bit", 0.5});  // pushes only: fine with an optimizer
}
