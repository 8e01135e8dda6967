// The layout of a key's optimizer state (core/optimizer_state_layout.hpp),
// which the shard, the optimizer and load_optimizer_states all follow.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>

#include "../test_config.hpp"
#include "core/optimizer_state_layout.hpp"

using namespace kvs;
using detail::optimizer_state_layout;
using detail::state_array_layout;

namespace {

// "f32(2,3) f32(2,3) f32(2,3)+master": exact, and readable when it fails.
std::string describe(const std::vector<state_array_layout>& layout) {
  std::string out;
  for (auto& a : layout)
    out += std::string(out.empty() ? "" : " ") + to_string(a.type) + to_string(a.shape) +
           (a.master ? "+master" : "");
  return out;
}

}  // namespace

TEST_CASE("an f32 weight's state is f32 arrays of its shape, with or without multi_precision",
          "[optimizer][state]") {
  for (bool mp : {false, true}) {
    auto layout = optimizer_state_layout(dtype::f32, {2, 3}, 2, mp);
    REQUIRE(describe(layout) == "f32(2,3) f32(2,3)");
    REQUIRE(layout == std::vector<state_array_layout>{{dtype::f32, {2, 3}}, {dtype::f32, {2, 3}}});
  }
  REQUIRE(optimizer_state_layout(dtype::f32, {4}, 0, true).empty());
  REQUIRE(describe(optimizer_state_layout(dtype::f64, {4}, 1, true)) == "f64(4)");
}

TEST_CASE("an f16 weight without multi_precision keeps f16 state and no master copy",
          "[optimizer][state]") {
  REQUIRE(describe(optimizer_state_layout(dtype::f16, {5}, 2, false)) == "f16(5) f16(5)");
  REQUIRE(describe(optimizer_state_layout(dtype::bf16, {5}, 1, false)) == "bf16(5)");
  REQUIRE(optimizer_state_layout(dtype::f16, {5}, 0, false).empty());
}

TEST_CASE("a 16-bit weight with multi_precision keeps f32 state, then an f32 master copy",
          "[optimizer][state]") {
  auto layout = optimizer_state_layout(dtype::f16, {2, 2}, 2, true);
  REQUIRE(describe(layout) == "f32(2,2) f32(2,2) f32(2,2)+master");
  REQUIRE(layout == std::vector<state_array_layout>{{dtype::f32, {2, 2}},
                                                    {dtype::f32, {2, 2}},
                                                    {dtype::f32, {2, 2}, true}});
  REQUIRE(describe(optimizer_state_layout(dtype::bf16, {3}, 1, true)) ==
          "f32(3) f32(3)+master");
  // An optimizer without state (test, sgd without momentum) keeps only the master copy.
  REQUIRE(describe(optimizer_state_layout(dtype::f16, {3}, 0, true)) == "f32(3)+master");
}

TEST_CASE("fresh state is zeros, and the master copy holds the weight", "[optimizer][state]") {
  auto half = ndarray::full({3}, -1.25, dtype::f16);
  auto state = detail::initial_optimizer_state(half, optimizer_state_layout(dtype::f16, {3}, 1, true));
  REQUIRE(state.size() == 2);
  REQUIRE(state[0].dtype() == dtype::f32);
  REQUIRE(state[0].to_vector<float>() == std::vector<float>{0, 0, 0});
  REQUIRE(state[1].dtype() == dtype::f32);
  REQUIRE(state[1].to_vector<float>() == std::vector<float>{-1.25f, -1.25f, -1.25f});
}

TEST_CASE("each optimizer declares its number of state arrays", "[optimizer][state]") {
  auto count = [](const std::string& name, std::map<std::string, double> numbers = {}) {
    return create_optimizer(name, numbers)->state_arrays();
  };
  CHECK(count("sgd") == 0);
  CHECK(count("sgd", {{"momentum", 0.9}}) == 1);
  CHECK(count("nag") == 0);
  CHECK(count("nag", {{"momentum", 0.9}}) == 1);
  CHECK(count("adam") == 2);
  CHECK(count("adagrad") == 1);
  CHECK(count("rmsprop") == 1);
  CHECK(count("rmsprop", {{"centered", 1}}) == 3);
  CHECK(count("signum") == 1);  // momentum 0.9 by default
  CHECK(count("signum", {{"momentum", 0}}) == 0);
  CHECK(count("ftrl") == 2);
  CHECK(count("lamb") == 2);
  CHECK(count("test") == 0);
}

TEST_CASE("update refuses state arrays that do not follow the layout", "[optimizer][state]") {
  auto opt = create_optimizer("adam", {{"multi_precision", 1}});
  auto w = ndarray::zeros({4}, dtype::f16), g = ndarray::zeros({4}, dtype::f16);
  std::vector<ndarray> two{ndarray::zeros({4}), ndarray::zeros({4})};
  require_message([&] { opt->update(g, w, two, 1); }, errc::invalid_argument, {"expects 3", "got 2"});
  std::vector<ndarray> half{ndarray::zeros({4}, dtype::f16), ndarray::zeros({4}),
                            ndarray::zeros({4})};
  require_message([&] { opt->update(g, w, half, 1); }, errc::invalid_argument,
                  {"state 0", "f16", "expected f32"});
  std::vector<ndarray> shape{ndarray::zeros({4}), ndarray::zeros({2, 2}), ndarray::zeros({4})};
  require_message([&] { opt->update(g, w, shape, 1); }, errc::invalid_argument, {"state 1", "(2,2)"});
  std::vector<ndarray> good{ndarray::zeros({4}), ndarray::zeros({4}), ndarray::zeros({4})};
  opt->update(g, w, good, 1);  // the layout itself is accepted
}

TEST_CASE("an f16 key's multi_precision state saves and loads in the layout's dtypes",
          "[optimizer][state]") {
  auto path = "/tmp/kvs_test_" + std::to_string(::getpid()) + "_f16_mp.kvsstate";
  auto opt = create_optimizer("adam", {{"learning_rate", 0.01}, {"multi_precision", 1}});
  auto grad = ndarray::full({4}, 0.125, dtype::f16);
  auto pull = [](kvstore& kv) {
    auto out = ndarray::zeros({4}, dtype::f16);
    kv.pull(0, out);
    return out;
  };
  auto a = create("local", test_config());
  a->init(0, ndarray::full({4}, 1.0, dtype::f16));
  a->set_optimizer(opt);
  a->push(0, grad);
  a->push(0, grad);
  a->save_optimizer_states(path, true);  // two f32 moments, then the f32 master copy
  auto at_save = pull(*a);
  a->push(0, grad);
  auto uninterrupted = pull(*a).to_vector<float>();

  auto b = create("local", test_config());
  b->init(0, at_save);
  b->load_optimizer_states(path);
  b->push(0, grad);
  REQUIRE(pull(*b).to_vector<float>() == uninterrupted);

  auto f32 = create("local", test_config());  // an f32 key keeps no master copy
  f32->init(0, ndarray::zeros({4}));
  require_message([&] { f32->load_optimizer_states(path); }, errc::invalid_argument,
                  {"has 3 state arrays", "keeps 2"});
  std::remove(path.c_str());
}
