// [gpu]: run for real wherever a GPU is present; elsewhere each case says
// that it skipped and why.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "../test_config.hpp"
#include "core/array_impl.hpp"
#include "core/element.hpp"
#include "gpu/gpu_runtime.hpp"

using namespace kvs;

#define SKIP_WITHOUT_GPU(n)                                                            \
  do {                                                                                 \
    if (cuda::device_count() < (n)) {                                                  \
      WARN("skipped: needs " << (n) << " GPU(s); " << cuda::availability());           \
      return;                                                                          \
    }                                                                                  \
  } while (false)

TEST_CASE("without a GPU, GPU arrays and the nccl store fail with no_device", "[gpu]") {
  if (cuda::device_count() > 0) {
    WARN("skipped: a GPU is present (" << cuda::availability() << ")");
    return;
  }
  require_message([] { ndarray::zeros({4}, dtype::f32, gpu(0)); }, errc::no_device, {"gpu(0)"});
  require_message([] { create("nccl", test_config()); }, errc::no_device, {"nccl"});
  // The device store still works on host arrays, with the CPU reducer.
  auto kv = create("device", test_config());
  kv->init(1, ndarray::zeros({3}));
  kv->push(1, std::vector<ndarray>{ndarray::full({3}, 1.0, dtype::f32, cpu(0)),
                                   ndarray::full({3}, 2.0, dtype::f32, cpu(1))});
  auto out = ndarray::zeros({3});
  kv->pull(1, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(3, 3.0f));
}

TEST_CASE("GPU arrays copy to and from the host", "[gpu]") {
  SKIP_WITHOUT_GPU(1);
  auto a = ndarray::from_vector<float>({1, 2, 3, 4, 5}, {5}, gpu(0));
  REQUIRE(a.device() == gpu(0));
  REQUIRE(a.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5});
  REQUIRE(ndarray::full({3}, 2.5, dtype::f16, gpu(0)).to_vector<double>() == std::vector<double>(3, 2.5));
  auto back = a.copy_to(cpu());
  REQUIRE(back.data<float>()[4] == 5.0f);
  REQUIRE_KVS_ERROR(a.data<float>(), errc::invalid_argument);
  REQUIRE(ndarray::zeros({7}, dtype::f64, gpu(0)).to_vector<double>() == std::vector<double>(7, 0.0));
}

TEST_CASE("the GPU sum kernels match a CPU reference for every dtype, odd sizes and tails",
          "[gpu]") {
  SKIP_WITHOUT_GPU(1);
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> dist(-4, 4);
  cuda::stream s(0);
  for (auto t : {dtype::f16, dtype::bf16, dtype::f32, dtype::f64}) {
    for (size_t n : {1u, 7u, 8u, 33u, 1000003u}) {
      for (size_t inputs : {1u, 2u, 4u, 9u}) {
        for (size_t offset : {0u, 1u}) {  // 1: not 16-byte aligned, element-wise path
          std::vector<ndarray> host, dev;
          std::vector<const void*> ptrs;
          std::vector<double> want(n, 0.0);
          for (size_t k = 0; k < inputs; ++k) {
            std::vector<double> v(n + offset);
            for (auto& x : v)
              x = std::round(dist(rng) * 8) / 8;  // exact in every dtype
            auto h = ndarray::from_vector<double>(v, {static_cast<int64_t>(n + offset)});
            auto hd = ndarray::zeros({static_cast<int64_t>(n + offset)}, t);
            // convert to t through the host
            auto conv = ndarray::full({static_cast<int64_t>(n + offset)}, 0.0, t);
            for (size_t i = 0; i < v.size(); ++i)
              detail::store_element(detail::ndarray_access::raw(conv), t, i, v[i]);
            auto d = conv.copy_to(gpu(0));
            dev.push_back(d);
            ptrs.push_back(static_cast<char*>(detail::ndarray_access::raw(d)) + offset * size_of(t));
            for (size_t i = 0; i < n; ++i)
              want[i] += v[i + offset];
          }
          auto out = ndarray::zeros({static_cast<int64_t>(n + offset)}, t, gpu(0));
          auto* dst = static_cast<char*>(detail::ndarray_access::raw(out)) + offset * size_of(t);
          cuda::sum(s, t, dst, ptrs, n, false);
          auto got = out.to_vector<double>();
          double tol = t == dtype::f16 ? 0.1 : (t == dtype::bf16 ? 0.5 : 1e-9);
          for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 97))
            REQUIRE(std::abs(got[i + offset] - want[i]) <= tol);
          REQUIRE(std::abs(got[n - 1 + offset] - want[n - 1]) <= tol);
        }
      }
    }
  }
}

namespace {
// MXNet's device test: for n devices, init ones, push ones from each, pull
// into zeros on each: every value is n.
void mxnet_device_test(const std::string& type, const std::vector<device>& devices) {
  const std::vector<shape> shapes{{10}, {100}, {1000}, {10000}, {100000}, {2, 2}, {2, 3, 4, 5, 6, 7, 8}};
  auto kv = create(type, test_config());
  for (size_t k = 0; k < shapes.size(); ++k)
    kv->init(static_cast<int>(k + 1), ndarray::full(shapes[k], 1.0, dtype::f32, devices[0]));
  for (size_t k = 0; k < shapes.size(); ++k) {
    std::vector<ndarray> ones, outs;
    for (auto d : devices) {
      ones.push_back(ndarray::full(shapes[k], 1.0, dtype::f32, d));
      outs.push_back(ndarray::zeros(shapes[k], dtype::f32, d));
    }
    kv->push(static_cast<int>(k + 1), ones);
    kv->pull(static_cast<int>(k + 1), outs);
    for (auto& o : outs)  // every element, on every device
      REQUIRE(o.to_vector<float>() ==
              std::vector<float>(o.size(), static_cast<float>(devices.size())));
  }
}
}  // namespace

TEST_CASE("MXNet's device test on every GPU, for local and device", "[gpu]") {
  SKIP_WITHOUT_GPU(1);
  std::vector<device> gpus;
  for (int d = 0; d < cuda::device_count(); ++d)
    gpus.push_back(gpu(d));
  mxnet_device_test("local", gpus);
  mxnet_device_test("device", gpus);
}

TEST_CASE("several arrays on gpu(0) are summed on it", "[gpu]") {
  SKIP_WITHOUT_GPU(1);
  mxnet_device_test("device", {gpu(0), gpu(0), gpu(0), gpu(0)});
  mxnet_device_test("local", {gpu(0), gpu(0), gpu(0)});
}

TEST_CASE("the nccl store pushpulls and broadcasts across the GPUs", "[gpu]") {
  SKIP_WITHOUT_GPU(1);
  auto kv = create("nccl", test_config());
  int n = cuda::device_count();
  kv->init(0, ndarray::zeros({1000}, dtype::f32, gpu(0)));
  std::vector<ndarray> vals;
  for (int d = 0; d < n; ++d)
    vals.push_back(ndarray::full({1000}, d + 1.0, dtype::f32, gpu(d)));
  kv->pushpull(0, vals);
  for (auto& v : vals)
    REQUIRE(v.to_vector<float>()[999] == static_cast<float>(n * (n + 1) / 2));
  std::vector<ndarray> outs;
  for (int d = 0; d < n; ++d)
    outs.push_back(ndarray::zeros({8}, dtype::f32, gpu(d)));
  kv->broadcast(1, ndarray::full({8}, 3.0, dtype::f32, gpu(0)), outs);
  for (auto& o : outs)
    REQUIRE(o.to_vector<float>() == std::vector<float>(8, 3.0f));
}

TEST_CASE("an optimizer updates GPU-resident keys of the device store", "[gpu]") {
  SKIP_WITHOUT_GPU(1);
  auto kv = create("device", test_config());
  kv->init(0, ndarray::zeros({2, 2}, dtype::f32, gpu(0)));
  kv->set_optimizer(create_optimizer("sgd"));
  kv->push(0, ndarray::full({2, 2}, 1.0, dtype::f32, gpu(0)));
  auto out = ndarray::zeros({2, 2}, dtype::f32, gpu(0));
  kv->pull(0, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(4, -0.01f));
}

// Stream discipline under load: many rounds of push and pull of keys of mixed
// sizes on gpu(0), fresh inputs (GPU fills) and reused outputs each round,
// every element checked. A fill, copy or sum that a later operation does not
// wait for shows up as a wrong value here.
TEST_CASE("thousands of push and pull rounds of mixed sizes on gpu(0) give exact values",
          "[gpu]") {
  SKIP_WITHOUT_GPU(1);
  const std::vector<int64_t> sizes{1, 7, 4096, 65537, 262147, 1 << 20};
  const int rounds = 2000;
  auto kv = create("device", test_config());
  std::vector<ndarray> outs;
  for (size_t k = 0; k < sizes.size(); ++k) {
    kv->init(static_cast<int>(k), ndarray::zeros({sizes[k]}, dtype::f32, gpu(0)));
    outs.push_back(ndarray::full({sizes[k]}, -1.0, dtype::f32, gpu(0)));
  }
  for (int r = 0; r < rounds; ++r) {
    // Big keys every 16th round only: thousands of rounds, bounded bytes.
    for (size_t k = 0; k < sizes.size(); ++k) {
      if (sizes[k] > 100000 && r % 16 != static_cast<int>(k) % 16)
        continue;
      float a = static_cast<float>(r % 13 + 1), b = static_cast<float>(k + 1);
      kv->push(static_cast<int>(k), std::vector<ndarray>{ndarray::full({sizes[k]}, a, dtype::f32, gpu(0)),
                                                           ndarray::full({sizes[k]}, b, dtype::f32, gpu(0))});
      kv->pull(static_cast<int>(k), outs[k]);
      auto got = outs[k].to_vector<float>();
      auto want = a + b;
      for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != want)
          FAIL("round " << r << ", key " << k << " (" << sizes[k] << " elements): element " << i
                        << " is " << got[i] << ", expected " << want);
    }
  }
}
