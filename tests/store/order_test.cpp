// Per-key order in the in-process stores: what one key's operations see is
// what their call order says (MXNet issue 8 and MXNet's own kvstore tests).
#include <catch2/catch.hpp>

#include "../test_config.hpp"
#include "order_cases.hpp"
#include "order_random.hpp"

using namespace kvs;

namespace {

// Arrays above the bound go through the reducer actor and its threads.
config order_config() {
  auto cfg = test_config();
  cfg.bigarray_bound = order::split_bound;
  cfg.inline_bound = 100;
  return cfg;
}

void run_case(const std::string& type, order::kind c) {
  auto kv = create(type, order_config());
  order::runner(*kv, order::shapes(), false).run(c, 5);
}

// keys {1, 2} whose per-device values are both the same array `both`, pushed
// and pulled in place in one call: every push is taken before any pull writes.
void shared_arrays_pushpull(const std::string& type) {
  auto kv = create(type, order_config());
  for (auto s : {shape{2, 3}, shape{40, 30}}) {
    INFO("shape " << s[0] << "x" << s[1]);
    int first = s[0] == 2 ? 1 : 11;
    std::vector<key> keys{first, first + 1};
    kv->init(keys, {ndarray::zeros(s), ndarray::zeros(s)});
    auto both = ndarray::full(s, 1.0);
    kv->pushpull(keys, std::vector<std::vector<ndarray>>{{both, both}, {both, both}});
    CHECK(both.to_vector<float>() == std::vector<float>(both.size(), 2.0f));
    for (auto& k : keys) {
      auto out = ndarray::zeros(s);
      kv->pull(k, out);
      INFO("key " << k.to_string());
      CHECK(out.to_vector<float>() == std::vector<float>(out.size(), 2.0f));
    }
  }
}

// An f16 key pulled into f32 and f64 outputs receives its value converted.
void f16_into_wider(const std::string& type) {
  auto kv = create(type, order_config());
  for (auto s : {shape{2, 3}, shape{40, 30}}) {
    key k = s[0] == 2 ? 1 : 2;
    kv->init(k, ndarray::full(s, 3.0, dtype::f16));
    std::vector<ndarray> outs{ndarray::zeros(s, dtype::f32, cpu(0)),
                              ndarray::zeros(s, dtype::f32, cpu(1)),
                              ndarray::zeros(s, dtype::f64, cpu(2))};
    kv->pull(k, outs);
    for (auto& o : outs)
      REQUIRE(o.to_vector<double>() == std::vector<double>(o.size(), 3.0));
    kv->push(k, {ndarray::full(s, 1.5, dtype::f16, cpu(0)), ndarray::full(s, 2.0, dtype::f16, cpu(1))});
    auto single = ndarray::zeros(s, dtype::f32);
    kv->pull(k, single);
    REQUIRE(single.to_vector<float>() == std::vector<float>(single.size(), 3.5f));
  }
}

void random_ops(const std::string& type, bool accumulate) {
  auto kv = create(type, order_config());
  order::random_plan plan;
  plan.accumulate = accumulate;
  CAPTURE(plan.seed);
  order::random_run run(*kv, plan);
  run.run();
  REQUIRE(run.checked() > 1000);
}

}  // namespace

TEST_CASE("local: a per-device push is seen by the next pull", "[order]") {
  run_case("local", order::kind::per_device_push_then_pull);
}
TEST_CASE("local: a single-array push is seen by the next pull", "[order]") {
  run_case("local", order::kind::single_push_then_pull);
}
TEST_CASE("local: a pushpull after a push sees both", "[order]") {
  run_case("local", order::kind::push_then_pushpull);
}
TEST_CASE("local: a pull right after init sees the initial value", "[order]") {
  run_case("local", order::kind::init_then_pull);
}
TEST_CASE("local: pull, push, pull see the value before and after the push", "[order]") {
  run_case("local", order::kind::pull_then_push_then_pull);
}

TEST_CASE("device: a per-device push is seen by the next pull", "[order]") {
  run_case("device", order::kind::per_device_push_then_pull);
}
TEST_CASE("device: a single-array push is seen by the next pull", "[order]") {
  run_case("device", order::kind::single_push_then_pull);
}
TEST_CASE("device: a pushpull after a push sees both", "[order]") {
  run_case("device", order::kind::push_then_pushpull);
}
TEST_CASE("device: a pull right after init sees the initial value", "[order]") {
  run_case("device", order::kind::init_then_pull);
}
TEST_CASE("device: pull, push, pull see the value before and after the push", "[order]") {
  run_case("device", order::kind::pull_then_push_then_pull);
}

TEST_CASE("local: an in-place list pushpull of keys sharing their arrays takes every push first",
          "[order]") {
  shared_arrays_pushpull("local");
}
TEST_CASE("device: an in-place list pushpull of keys sharing their arrays takes every push first",
          "[order]") {
  shared_arrays_pushpull("device");
}
TEST_CASE("local: an f16 key pulled into f32 and f64 outputs arrives converted", "[order]") {
  f16_into_wider("local");
}
TEST_CASE("device: an f16 key pulled into f32 and f64 outputs arrives converted", "[order]") {
  f16_into_wider("device");
}

TEST_CASE("local: random operations from three threads match a sequential model", "[order]") {
  random_ops("local", false);
}
TEST_CASE("device: random operations from three threads match a sequential model", "[order]") {
  random_ops("device", true);
}
