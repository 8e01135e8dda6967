// The examples of MXNet's kvstore documentation (shared/seeds), as exact tests.
#include <catch2/catch.hpp>

#include "../test_config.hpp"

using namespace kvs;

namespace {
const shape kShape{2, 3};
std::vector<float> filled(float v) { return std::vector<float>(6, v); }
}  // namespace

TEST_CASE("init with 2s then pull gives 2s", "[store][seed]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::full(kShape, 2.0));
  auto a = ndarray::zeros(kShape);
  kv->pull(3, a);
  REQUIRE(a.to_vector<float>() == filled(2));
}

TEST_CASE("push 8s then pull gives 8s", "[store][seed]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::full(kShape, 2.0));
  kv->push(3, ndarray::full(kShape, 8.0));
  auto a = ndarray::zeros(kShape);
  kv->pull(3, a);
  REQUIRE(a.to_vector<float>() == filled(8));
}

TEST_CASE("a push of ones from 4 devices pulls 4s", "[store][seed]") {
  for (auto type : {"local", "device"}) {
    auto kv = create(type, test_config());
    kv->init(3, ndarray::full(kShape, 2.0));
    std::vector<ndarray> b;
    for (int d = 0; d < 4; ++d)
      b.push_back(ndarray::full(kShape, 1.0, dtype::f32, cpu(d)));
    kv->push(3, b);
    auto a = ndarray::zeros(kShape);
    kv->pull(3, a);
    REQUIRE(a.to_vector<float>() == filled(4));
    // pull into multiple devices
    std::vector<ndarray> outs;
    for (int d = 0; d < 4; ++d)
      outs.push_back(ndarray::full(kShape, 1.0, dtype::f32, cpu(d)));
    kv->pull(3, outs);
    for (auto& o : outs)
      REQUIRE(o.to_vector<float>() == filled(4));
  }
}

TEST_CASE("lists of keys push and pull on a single device", "[store][seed]") {
  auto kv = create("local", test_config());
  std::vector<key> keys{5, 7, 9};
  kv->init(keys, {ndarray::full(kShape, 2.0), ndarray::full(kShape, 2.0), ndarray::full(kShape, 2.0)});
  std::vector<ndarray> b{ndarray::zeros(kShape), ndarray::zeros(kShape), ndarray::zeros(kShape)};
  kv->pull(keys, b);
  REQUIRE(b[1].to_vector<float>() == filled(2));
  kv->push(keys, {ndarray::full(kShape, 1.0), ndarray::full(kShape, 1.0), ndarray::full(kShape, 1.0)});
  kv->pull(keys, b);
  REQUIRE(b[0].to_vector<float>() == filled(1));
  REQUIRE(b[1].to_vector<float>() == filled(1));
  REQUIRE(b[2].to_vector<float>() == filled(1));
}

TEST_CASE("lists of keys push and pull on multiple devices", "[store][seed]") {
  auto kv = create("local", test_config());
  std::vector<key> keys{5, 7, 9};
  kv->init(keys, {ndarray::full(kShape, 2.0), ndarray::full(kShape, 2.0), ndarray::full(kShape, 2.0)});
  std::vector<std::vector<ndarray>> b;
  for (size_t k = 0; k < keys.size(); ++k) {
    std::vector<ndarray> per_device;
    for (int d = 0; d < 4; ++d)
      per_device.push_back(ndarray::full(kShape, 1.0, dtype::f32, cpu(d)));
    b.push_back(per_device);
  }
  kv->push(keys, b);
  kv->pull(keys, b);
  REQUIRE(b[1][1].to_vector<float>() == filled(4));
  for (auto& per_device : b)
    for (auto& o : per_device)
      REQUIRE(o.to_vector<float>() == filled(4));
}

TEST_CASE("string keys work like integer keys", "[store][seed]") {
  auto kv = create("local", test_config());
  kv->init("3", ndarray::full(kShape, 2.0));
  auto a = ndarray::zeros(kShape);
  kv->pull("3", a);
  REQUIRE(a.to_vector<float>() == filled(2));
  std::vector<key> keys{"5", "7", "9"};
  kv->init(keys, {ndarray::full(kShape, 1.0), ndarray::full(kShape, 1.0), ndarray::full(kShape, 1.0)});
  kv->push(keys, {ndarray::full(kShape, 3.0), ndarray::full(kShape, 3.0), ndarray::full(kShape, 3.0)});
  std::vector<ndarray> b{ndarray::zeros(kShape), ndarray::zeros(kShape), ndarray::zeros(kShape)};
  kv->pull(keys, b);
  REQUIRE(b[2].to_vector<float>() == filled(3));
}

TEST_CASE("the updater stored += input * 2 gives 4 then 6", "[store][seed]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::full(kShape, 2.0));
  std::vector<std::string> log;
  kv->set_updater([&log](const key& k, const ndarray& input, ndarray& stored) {
    log.push_back("update on key: " + k.to_string());
    auto in = input.to_vector<float>();
    float* s = stored.data<float>();
    for (size_t i = 0; i < in.size(); ++i)
      s[i] += in[i] * 2;
  });
  auto a = ndarray::zeros(kShape);
  kv->pull(3, a);
  REQUIRE(a.to_vector<float>() == filled(2));
  kv->push(3, ndarray::full(kShape, 1.0));
  kv->pull(3, a);
  REQUIRE(a.to_vector<float>() == filled(4));
  kv->push(3, ndarray::full(kShape, 1.0));
  kv->pull(3, a);
  REQUIRE(a.to_vector<float>() == filled(6));
  kv->wait_all();
  REQUIRE(log == std::vector<std::string>{"update on key: 3", "update on key: 3"});
}

TEST_CASE("a string key reaches the updater as the original string", "[store][seed]") {
  auto kv = create("local", test_config());
  kv->init("weight", ndarray::full(kShape, 0.0));
  std::string seen;
  kv->set_updater([&seen](const key& k, const ndarray&, ndarray&) { seen = k.as_string(); });
  kv->push("weight", ndarray::full(kShape, 1.0));
  kv->wait_all();
  REQUIRE(seen == "weight");
}
