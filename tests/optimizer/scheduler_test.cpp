#include <catch2/catch.hpp>

#include "../test_config.hpp"

using namespace kvs;
using Catch::Detail::Approx;

TEST_CASE("factor scheduler multiplies by factor every step updates", "[optimizer][scheduler]") {
  auto o = create_optimizer("sgd", {{"learning_rate", 1}, {"step", 2}, {"factor", 0.5}},
                            {{"lr_scheduler", "factor"}});
  REQUIRE(o->learning_rate(1) == 1.0);
  REQUIRE(o->learning_rate(2) == 1.0);
  REQUIRE(o->learning_rate(3) == 0.5);
  REQUIRE(o->learning_rate(4) == 0.5);
  REQUIRE(o->learning_rate(5) == 0.25);
  auto floor = create_optimizer("sgd", {{"learning_rate", 1}, {"step", 2}, {"factor", 0.5},
                                        {"stop_factor_lr", 0.3}},
                                {{"lr_scheduler", "factor"}});
  REQUIRE(floor->learning_rate(5) == 0.3);
  REQUIRE(floor->learning_rate(1001) == 0.3);
}

TEST_CASE("multifactor scheduler steps at each listed update", "[optimizer][scheduler]") {
  auto o = create_optimizer("sgd", {{"learning_rate", 1}, {"factor", 0.5}},
                            {{"lr_scheduler", "multifactor"}, {"step", "2,4"}});
  REQUIRE(o->learning_rate(2) == 1.0);
  REQUIRE(o->learning_rate(3) == 0.5);
  REQUIRE(o->learning_rate(4) == 0.5);
  REQUIRE(o->learning_rate(5) == 0.25);
  REQUIRE(o->learning_rate(100) == 0.25);
}

TEST_CASE("poly and cosine schedulers reach final_lr at max_update", "[optimizer][scheduler]") {
  auto poly = create_optimizer("sgd", {{"learning_rate", 1}, {"max_update", 4}},
                               {{"lr_scheduler", "poly"}});
  REQUIRE(poly->learning_rate(1) == 0.5625);  // (1 - 1/4)^2
  REQUIRE(poly->learning_rate(2) == 0.25);
  REQUIRE(poly->learning_rate(4) == 0.0);
  REQUIRE(poly->learning_rate(10) == 0.0);
  auto cosine = create_optimizer("sgd", {{"learning_rate", 1}, {"max_update", 4}, {"final_lr", 0}},
                                 {{"lr_scheduler", "cosine"}});
  REQUIRE(cosine->learning_rate(2) == Approx(0.5));
  REQUIRE(cosine->learning_rate(1) == Approx(0.8535533906));
  REQUIRE(cosine->learning_rate(4) == Approx(0.0).margin(1e-15));
}

TEST_CASE("warm-up ramps linearly or holds a constant", "[optimizer][scheduler]") {
  auto lin = create_optimizer("sgd", {{"learning_rate", 1}, {"step", 10}, {"warmup_steps", 4}},
                              {{"lr_scheduler", "factor"}});
  REQUIRE(lin->learning_rate(1) == 0.25);
  REQUIRE(lin->learning_rate(2) == 0.5);
  REQUIRE(lin->learning_rate(4) == 1.0);
  auto constant = create_optimizer(
      "sgd", {{"learning_rate", 1}, {"step", 10}, {"warmup_steps", 4}, {"warmup_begin_lr", 0.125}},
      {{"lr_scheduler", "factor"}, {"warmup_mode", "constant"}});
  REQUIRE(constant->learning_rate(3) == 0.125);
  REQUIRE(constant->learning_rate(5) == 1.0);
}

TEST_CASE("the scheduler drives updates through the store", "[optimizer][scheduler]") {
  // sgd lr 1 halving every 2 updates, g 1, w 0: -1, -2, -2.5, -3, -3.25.
  auto kv = create("local", test_config());
  kv->init(0, ndarray::zeros({1}));
  kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 1}, {"step", 2}, {"factor", 0.5}},
                                     {{"lr_scheduler", "factor"}}));
  auto out = ndarray::zeros({1});
  std::vector<float> seen;
  for (int i = 0; i < 5; ++i) {
    kv->pushpull(0, ndarray::full({1}, 1.0), out);
    seen.push_back(out.to_vector<float>()[0]);
  }
  REQUIRE(seen == std::vector<float>{-1, -2, -2.5f, -3, -3.25f});
}
