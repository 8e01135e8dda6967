// Gradient compression across processes' worth of nodes (an in-process
// cluster: every message serialized through the middleman): the setting
// reaches the servers by command 4, each worker keeps its residual, keys
// split across servers are packed per part; values exact against the plain
// reference (tests/compression_reference.hpp).
#include <catch2/catch.hpp>

#include <functional>

#include "../compression_reference.hpp"
#include "local_cluster.hpp"

using namespace kvs;

namespace {

// Worker w's gradient in round `round`: halves and quarters of mixed signs,
// below, at and above 0.5 (sums of what 2bit/1bit send stay exact).
std::vector<float> grads(int w, int round, size_t n) {
  static const float pattern[] = {0.5f, -0.5f, 0.25f, -0.25f, 0.75f, -1.0f, 0.0f, 1.5f, -0.75f};
  std::vector<float> g(n);
  for (size_t i = 0; i < n; ++i)
    g[i] = pattern[(i + 4 * static_cast<size_t>(w) + 7 * static_cast<size_t>(round)) % 9] *
           (w == 0 ? 1.0f : -0.5f);
  return g;
}

ndarray array_of(const std::vector<float>& v) {
  return ndarray::from_vector(v, {static_cast<int64_t>(v.size())});
}

// Every worker's residual, kept by each worker to know the sum.
struct job_model {
  std::string type;
  float t;
  std::vector<std::vector<float>> residual;
  std::vector<float> sum;
  job_model(std::string ty, float th, int workers, size_t n)
      : type(std::move(ty)), t(th), residual(static_cast<size_t>(workers), std::vector<float>(n, 0.0f)) {}
  void round(int r) {  // the sum of what every worker sends in round r
    sum.assign(residual[0].size(), 0.0f);
    for (size_t w = 0; w < residual.size(); ++w) {
      auto sent = ref::send(type, grads(static_cast<int>(w), r, sum.size()), residual[w], t);
      for (size_t i = 0; i < sum.size(); ++i)
        sum[i] += sent[i];
    }
  }
};

local_cluster split_cluster(int workers = 2) {
  local_cluster c{workers, 2};
  c.settings = [](config& cfg) { cfg.bigarray_bound = 64; };  // key 2 (1003 values) is split
  return c;
}

void check_dist_rounds(const std::string& store, const std::string& type, float t) {
  auto cluster = split_cluster();
  cluster.run(store, [&](kvstore& kv) {
    kv.set_gradient_compression({type, t});
    std::vector<size_t> sizes{10, 1003};
    std::vector<job_model> models;
    for (size_t k = 0; k < sizes.size(); ++k) {
      kv.init(static_cast<int>(k + 1), ndarray::zeros({static_cast<int64_t>(sizes[k])}));
      models.emplace_back(type, t, kv.num_workers(), sizes[k]);
    }
    for (int r = 0; r < 4; ++r)
      for (size_t k = 0; k < sizes.size(); ++k) {
        auto g = grads(kv.rank(), r, sizes[k]);
        kv.push(static_cast<int>(k + 1), array_of(g));
        models[k].round(r);
        auto out = ndarray::zeros({static_cast<int64_t>(sizes[k])});
        kv.pull(static_cast<int>(k + 1), out);
        EXPECT(out.to_vector<float>() == models[k].sum);
      }
  });
}

}  // namespace

TEST_CASE("dist_sync with 2bit: small and split keys match the reference over rounds", "[dist][compression]") {
  check_dist_rounds("dist_sync", "2bit", 0.5f);
}

TEST_CASE("dist_sync with 1bit: small and split keys match the reference over rounds", "[dist][compression]") {
  check_dist_rounds("dist_sync", "1bit", 0.25f);
}

TEST_CASE("dist_sync with fp16: halves on the wire, summed in float", "[dist][compression]") {
  auto cluster = split_cluster();
  cluster.run("dist_sync", [&](kvstore& kv) {
    kv.set_gradient_compression({"fp16"});
    size_t n = 100;
    kv.init(7, ndarray::zeros({100}));
    std::vector<float> want(n, 0.0f);
    std::vector<float> mine(n);
    for (int w = 0; w < kv.num_workers(); ++w)
      for (size_t i = 0; i < n; ++i) {
        float g = 0.1f * static_cast<float>(i + 1) / static_cast<float>(w + 3);
        want[i] += ref::half(g);
        if (w == kv.rank())
          mine[i] = g;
      }
    auto out = ndarray::zeros({100});
    kv.pushpull(7, array_of(mine), out);
    EXPECT(out.to_vector<float>() == want);
  });
}

namespace {

// Compressed pulls of a split key with codec `type` (threshold 0.5) over
// `rounds` rounds in a job of `workers` workers, each worker
// pushing and pulling, or only pushing where `pulls(rank, round)` is false:
// what a worker pulls is each sum it was sent, packed with the servers'
// residual for it (of the sums it was sent); a second pull of a sum gets
// the same values.
void check_compressed_pulls(const std::string& type, int workers, int rounds,
                            const std::function<bool(int, int)>& pulls) {
  auto cluster = split_cluster(workers);
  cluster.run("dist_sync", [&](kvstore& kv) {
    compression c{type, 0.5};
    c.compress_pull = true;
    kv.set_gradient_compression(c);
    size_t n = 1003;
    kv.init(3, ndarray::zeros({1003}));
    job_model m(type, 0.5f, kv.num_workers(), n);
    std::vector<float> pull_residual(n, 0.0f);  // the servers' residual for this worker
    auto out = ndarray::zeros({1003});
    std::vector<float> want;
    for (int r = 0; r < rounds; ++r) {
      m.round(r);
      if (!pulls(kv.rank(), r)) {
        kv.push(3, array_of(grads(kv.rank(), r, n)));
        continue;
      }
      kv.pushpull(3, array_of(grads(kv.rank(), r, n)), out);
      want = ref::send(type, m.sum, pull_residual, 0.5f);
      EXPECT(out.to_vector<float>() == want);
    }
    kv.pull(3, out);  // the same sum again: the same values, the residual charged once
    EXPECT(out.to_vector<float>() == want);
  });
}

}  // namespace

TEST_CASE("dist_sync with compressed pulls: servers pack the sum with a residual per worker",
          "[dist][compression]") {
  check_compressed_pulls("2bit", 2, 4, [](int, int) { return true; });
}

TEST_CASE("dist_sync with 1bit compressed pulls: servers pack the sum with a residual per worker",
          "[dist][compression]") {
  check_compressed_pulls("1bit", 2, 4, [](int, int) { return true; });
}

TEST_CASE("dist_sync with fp16 compressed pulls, 3 workers: halves both ways, each server "
          "summing a round's pushes as it holds at most two",
          "[dist][compression]") {
  // fp16 packs a part in half its float buffer's bytes: a server holds two
  // pushes, and sums them into the buffer when the third arrives.
  check_compressed_pulls("fp16", 3, 3, [](int, int) { return true; });
}

TEST_CASE("dist_sync with compressed pulls: a worker that skips pulls keeps its own residual",
          "[dist][compression]") {
  // The servers pack a sum once for workers whose residuals are equal
  // (sent the same sums): a worker that skipped sums must not be packed
  // from, nor left sharing, another's residual.
  check_compressed_pulls("2bit", 2, 6, [](int rank, int r) {  // rank 0 skips rounds 1, 2 and 4
    return rank != 0 || r == 0 || r == 3 || r == 5;
  });
}

TEST_CASE("dist_device_sync with 2bit: each worker sums its devices, then compresses",
          "[dist][compression]") {
  local_cluster cluster{2, 1};
  cluster.run("dist_device_sync", [&](kvstore& kv) {
    kv.set_gradient_compression({"2bit", 0.5});
    size_t n = 50;
    kv.init(1, ndarray::zeros({50}));
    std::vector<std::vector<float>> residual(2, std::vector<float>(n, 0.0f));
    for (int r = 0; r < 3; ++r) {
      // device 0 and device 1 each push half of the worker's gradient
      std::vector<float> half_g = grads(kv.rank(), r, n);
      for (auto& x : half_g)
        x *= 0.5f;
      kv.push(1, {ndarray::from_vector(half_g, {50}, cpu(0)),
                  ndarray::from_vector(half_g, {50}, cpu(1))});
      std::vector<float> want(n, 0.0f);
      for (int w = 0; w < 2; ++w) {
        auto sent = ref::send("2bit", grads(w, r, n), residual[static_cast<size_t>(w)], 0.5f);
        for (size_t i = 0; i < n; ++i)
          want[i] += sent[i];
      }
      auto out = ndarray::zeros({50});
      kv.pull(1, out);
      EXPECT(out.to_vector<float>() == want);
    }
  });
}

TEST_CASE("dist_async with 2bit: each compressed push is applied by the optimizer",
          "[dist][compression]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& cfg) { cfg.bigarray_bound = 64; };
  cluster.run("dist_async", [&](kvstore& kv) {
    compression pulls{"2bit", 0.5};
    pulls.compress_pull = true;
    expect_error([&] { kv.set_gradient_compression(pulls); }, errc::invalid_argument,
                 {"dist_async", "compress_pull"});
    kv.set_gradient_compression({"2bit", 0.5});
    size_t n = 200;
    kv.init(1, ndarray::zeros({200}));
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
    for (int r = 0; r < 3; ++r)
      kv.push(1, array_of(grads(kv.rank(), r, n)));
    kv.wait_all();
    kv.barrier();
    job_model m("2bit", 0.5f, kv.num_workers(), n);
    std::vector<float> want(n, 0.0f);
    for (int r = 0; r < 3; ++r) {
      m.round(r);
      for (size_t i = 0; i < n; ++i)
        want[i] += m.sum[i];
    }
    auto out = ndarray::zeros({200});
    kv.pull(1, out);
    EXPECT(out.to_vector<float>() == want);
    expect_error([&] { kv.set_gradient_compression({"1bit", 0.5}); }, errc::invalid_argument,
                 {"before the first init"});
  });
}

TEST_CASE("servers check command 4 and refuse pushes packed otherwise than they were told",
          "[dist][compression]") {
  local_cluster cluster{1, 1};
  cluster.run("dist_sync", [&](kvstore& kv) {
    kv.set_gradient_compression({"2bit", 0.5});
    kv.init(1, ndarray::zeros({40}));
    expect_error([&] { kv.send_command_to_servers(4, "2bit"); }, errc::invalid_argument,
                 {"<type>,<threshold>"});
    expect_error([&] { kv.send_command_to_servers(4, "2bit,-1"); }, errc::invalid_argument,
                 {"threshold > 0"});
    kv.send_command_to_servers(4, "1bit,0.5");  // the servers now expect 1bit
    kv.push(1, ndarray::full({40}, 1.0));  // its failure surfaces at the next wait
    expect_error([&] { kv.wait_all(); }, errc::invalid_argument, {"key 1", "told \"1bit\""});
  });
}
