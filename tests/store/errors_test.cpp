#include <catch2/catch.hpp>

#include <thread>

#include "../test_config.hpp"

using namespace kvs;


TEST_CASE("push or pull before init fails with key_not_initialized", "[store][errors]") {
  auto kv = create("local", test_config());
  require_message([&] { kv->push(3, ndarray::zeros({2})); }, errc::key_not_initialized, {"3"});
  require_message([&] { kv->pull(3, ndarray::zeros({2})); }, errc::key_not_initialized, {"3"});
  require_message([&] { kv->pushpull(3, ndarray::zeros({2}), ndarray::zeros({2})); },
                  errc::key_not_initialized, {"3"});
}

TEST_CASE("a second init of a key fails with duplicate_init", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::zeros({2}));
  require_message([&] { kv->init(3, ndarray::zeros({2})); }, errc::duplicate_init, {"3"});
  require_message([&] { kv->init(std::vector<key>{4, 4}, {ndarray::zeros({2}), ndarray::zeros({2})}); },
                  errc::duplicate_init, {"4"});
}

TEST_CASE("a value of another shape fails with shape_mismatch naming both", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::zeros({2, 3}));
  require_message([&] { kv->push(3, ndarray::zeros({4})); }, errc::shape_mismatch,
                  {"3", "(2,3)", "(4)"});
  require_message([&] { kv->pull(3, ndarray::zeros({3, 2})); }, errc::shape_mismatch,
                  {"(2,3)", "(3,2)"});
}

TEST_CASE("a value of another dtype fails with dtype_mismatch naming both", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::zeros({2}));
  require_message([&] { kv->push(3, ndarray::zeros({2}, dtype::f64)); }, errc::dtype_mismatch,
                  {"3", "f32", "f64"});
  require_message([&] { kv->pull(3, ndarray::zeros({2}, dtype::i32)); }, errc::dtype_mismatch,
                  {"f32", "i32"});
}

TEST_CASE("integer and string keys never mix in one store", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::zeros({2}));
  require_message([&] { kv->init("w", ndarray::zeros({2})); }, errc::mixed_key_types, {"\"w\""});
  auto other = create("local", test_config());
  require_message([&] { other->init(std::vector<key>{1, "b"}, {ndarray::zeros({1}), ndarray::zeros({1})}); },
                  errc::mixed_key_types, {"1", "\"b\""});
}

TEST_CASE("an unknown store type lists the valid ones", "[store][errors]") {
  require_message([] { create("locl", test_config()); }, errc::invalid_type,
                  {"locl", "local", "device", "dist_sync"});
}

TEST_CASE("an unknown capability is an error listing the known ones", "[store][errors]") {
  auto kv = create("local", test_config());
  require_message([&] { kv->is_capable("teleport"); }, errc::invalid_argument,
                  {"teleport", "optimizer"});
}

TEST_CASE("mismatched numbers of keys and values fail with invalid_argument", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(std::vector<key>{1, 2}, {ndarray::zeros({1}), ndarray::zeros({1})});
  require_message([&] { kv->push(std::vector<key>{1, 2}, {ndarray::zeros({1})}); },
                  errc::invalid_argument, {"2 key(s)", "1 value(s)"});
  require_message([&] { kv->pull(std::vector<key>{1}, std::vector<ndarray>{}); },
                  errc::invalid_argument, {"1 key(s)", "0 output(s)"});
  require_message([&] { kv->init(std::vector<key>{5}, {}); }, errc::invalid_argument, {"1 key(s)"});
  require_message([&] { kv->push(1, std::vector<ndarray>{}); }, errc::invalid_argument, {"1"});
}

TEST_CASE("none outputs and none values are refused", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::zeros({2}));
  require_message([&] { kv->pull(1, ndarray()); }, errc::invalid_argument, {"none", "1"});
  require_message([&] { kv->push(1, ndarray()); }, errc::invalid_argument, {"none"});
  require_message([&] { kv->init(2, ndarray()); }, errc::invalid_argument, {"none"});
}

TEST_CASE("a list call is all or nothing", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(std::vector<key>{1, 2}, {ndarray::full({2}, 1.0), ndarray::full({2}, 1.0)});
  // The second key's value is wrong: nothing of the call happens.
  require_message([&] { kv->push(std::vector<key>{1, 2}, {ndarray::full({2}, 5.0), ndarray::zeros({3})}); },
                  errc::shape_mismatch, {"2"});
  auto out = ndarray::zeros({2});
  kv->pull(1, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(2, 1.0f));
}

TEST_CASE("set_gradient_compression is unsupported on local", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::zeros({4, 2}));
  require_message([&] { kv->set_gradient_compression({"2bit", 0.5}); }, errc::unsupported,
                  {"set_gradient_compression"});
  require_message([&] { kv->send_command_to_servers(0, "x"); }, errc::unsupported,
                  {"send_command_to_servers"});
}

TEST_CASE("a failing updater fails its operation and the store keeps serving", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::full({2}, 1.0));
  kv->set_updater([](const key& k, const ndarray&, ndarray&) {
    if (k.as_int() == 1)
      throw std::runtime_error("bad gradient");
  });
  kv->push(1, ndarray::full({2}, 3.0));
  require_message([&] { kv->wait_all(); }, errc::invalid_argument, {"bad gradient", "1"});
  auto out = ndarray::zeros({2});
  kv->pushpull(1, ndarray::full({2}, 3.0), out);
  require_message([&] { out.to_vector<float>(); }, errc::invalid_argument, {"bad gradient"});
  REQUIRE_THROWS_AS(kv->wait_all(), kvs::error);  // wait_all reports it too
  kv->init(2, ndarray::full({2}, 7.0));
  auto ok = ndarray::zeros({2});
  kv->pull(2, ok);
  REQUIRE(ok.to_vector<float>() == std::vector<float>(2, 7.0f));
  kv->pull(1, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(2, 1.0f));  // a later write clears the error
}

TEST_CASE("after an error the store keeps serving", "[store][errors]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::full({2}, 2.0));
  REQUIRE_THROWS_AS(kv->push(4, ndarray::zeros({2})), kvs::error);
  REQUIRE_THROWS_AS(kv->push(3, ndarray::zeros({5})), kvs::error);
  kv->push(3, ndarray::full({2}, 9.0));
  auto out = ndarray::zeros({2});
  kv->pull(3, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(2, 9.0f));
}

TEST_CASE("an updater that does not answer in time fails the push with timeout", "[store][errors]") {
  auto cfg = test_config();
  cfg.request_timeout = std::chrono::milliseconds(200);
  auto kv = create("local", cfg);
  kv->init(1, ndarray::zeros({2}));
  kv->set_updater([](const key&, const ndarray&, ndarray&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  });
  auto t0 = std::chrono::steady_clock::now();
  kv->push(1, ndarray::full({2}, 1.0));
  require_message([&] { kv->wait_all(); }, errc::timeout, {"update of key 1"});
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1400));
}
