#include <catch2/catch.hpp>

#include "../test_config.hpp"

using namespace kvs;


TEST_CASE("an unknown optimizer name lists the accepted ones", "[optimizer][errors]") {
  require_message([] { create_optimizer("adamw"); }, errc::invalid_argument,
                  {"adamw", "sgd", "adam", "lamb", "ftrl", "test"});
}

TEST_CASE("an unknown parameter lists the accepted ones", "[optimizer][errors]") {
  require_message([] { create_optimizer("sgd", {{"learnin_rate", 0.1}}); }, errc::invalid_argument,
                  {"learnin_rate", "learning_rate", "momentum", "wd"});
  require_message([] { create_optimizer("sgd", {{"beta1", 0.1}}); }, errc::invalid_argument,
                  {"beta1"});
  require_message([] { create_optimizer("sgd", {}, {{"schedule", "x"}}); }, errc::invalid_argument,
                  {"schedule", "lr_scheduler"});
}

TEST_CASE("out-of-range values are refused by name", "[optimizer][errors]") {
  require_message([] { create_optimizer("sgd", {{"momentum", 1.5}}); }, errc::invalid_argument,
                  {"momentum"});
  require_message([] { create_optimizer("adam", {{"epsilon", 0}}); }, errc::invalid_argument,
                  {"epsilon"});
  require_message([] { create_optimizer("sgd", {{"learning_rate", -1}}); }, errc::invalid_argument,
                  {"learning_rate"});
  require_message([] { create_optimizer("sgd", {{"multi_precision", 2}}); }, errc::invalid_argument,
                  {"multi_precision"});
}

TEST_CASE("bad scheduler settings are refused", "[optimizer][errors]") {
  require_message([] { create_optimizer("sgd", {}, {{"lr_scheduler", "step"}}); },
                  errc::invalid_argument, {"step", "factor", "cosine"});
  require_message([] { create_optimizer("sgd", {}, {{"lr_scheduler", "factor"}}); },
                  errc::invalid_argument, {"step"});
  require_message([] { create_optimizer("sgd", {}, {{"lr_scheduler", "multifactor"}, {"step", "5,3"}}); },
                  errc::invalid_argument, {"5,3"});
  require_message([] { create_optimizer("sgd", {}, {{"lr_scheduler", "poly"}}); },
                  errc::invalid_argument, {"max_update"});
}

TEST_CASE("an optimizer on integer weights fails the push, and the store keeps serving",
          "[optimizer][errors]") {
  auto kv = create("local", test_config());
  kv->init(0, ndarray::zeros({2}, dtype::i32));
  kv->init(1, ndarray::zeros({2}));
  kv->set_optimizer(create_optimizer("sgd"));
  kv->push(0, ndarray::full({2}, 1.0, dtype::i32));
  require_message([&] { kv->wait_all(); }, errc::unsupported, {"i32", "key 0"});
  kv->push(1, ndarray::full({2}, 1.0));
  auto out = ndarray::zeros({2});
  kv->pull(1, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(2, -0.01f));
}

TEST_CASE("set_optimizer with a null optimizer is refused", "[optimizer][errors]") {
  auto kv = create("local", test_config());
  REQUIRE_KVS_ERROR(kv->set_optimizer(nullptr), errc::invalid_argument);
}
