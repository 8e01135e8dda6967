#include <catch2/catch.hpp>

#include <cstdio>

#include "../test_config.hpp"
#include "trainer_cases.hpp"

using namespace kvs;
using namespace trainer_cases;

namespace {

std::shared_ptr<optimizer> momentum() {
  return create_optimizer("sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}, {"wd", 0.01}});
}

// Runs `steps` steps of the trainer and of the same steps by hand, each in a
// fresh store of `type`, and returns both weights.
std::pair<std::vector<std::vector<float>>, std::vector<std::vector<float>>> side_by_side(
    const std::string& type, bool on_store, std::shared_ptr<optimizer> opt, int steps) {
  auto kv1 = create(type, test_config());
  auto params = make_params(4, 0, 0.25f);
  auto grads = make_grads(4);
  trainer_options o;
  o.update_on_kvstore = on_store;
  trainer tr(*kv1, params, grads, opt, o);
  REQUIRE(tr.update_on_kvstore() == on_store);
  for (int t = 1; t <= steps; ++t) {
    fill_grads(grads, t);
    tr.step();
    kv1->wait_all();
  }
  auto kv2 = create(type, test_config());
  by_hand h{*kv2, make_params(4, 0, 0.25f), make_grads(4), opt, on_store};
  h.init();
  for (int t = 1; t <= steps; ++t) {
    fill_grads(h.grads, t);
    h.step();
    kv2->wait_all();
  }
  return {values(params), values(h.params)};
}

}  // namespace

TEST_CASE("a trainer step with the optimizer in the store equals Module's pushpull by hand",
          "[trainer]") {
  for (auto type : {"local", "device"}) {
    INFO(type);
    auto [mine, hand] = side_by_side(type, true, momentum(), 4);
    REQUIRE(mine == hand);
    // every device holds the same weights
    for (size_t i = 0; i < mine.size(); i += 4)
      REQUIRE(mine[i] == mine[i + 3]);
  }
}

TEST_CASE("a trainer step with device updates equals summed gradients and per-device updates",
          "[trainer]") {
  for (auto type : {"local", "device"}) {
    INFO(type);
    auto [mine, hand] = side_by_side(type, false, momentum(), 4);
    REQUIRE(mine == hand);
    auto [adam_mine, adam_hand] =
        side_by_side(type, false, create_optimizer("adam", {{"learning_rate", 0.01}}), 3);
    REQUIRE(adam_mine == adam_hand);
  }
}

TEST_CASE("the trainer pulls the initial weights into every device", "[trainer]") {
  auto kv = create("local", test_config());
  auto params = make_params(3, 0, 1.0f);  // devices start apart
  auto want = params[1][0].to_vector<float>();
  trainer tr(*kv, params, make_grads(3), momentum());
  for (auto& w : params[1])
    REQUIRE(w.to_vector<float>() == want);
}

TEST_CASE("the trainer's default policy follows MXNet's _create_kvstore", "[trainer]") {
  auto kv = create("local", test_config());
  trainer four(*kv, make_params(4), make_grads(4), momentum());
  REQUIRE(four.update_on_kvstore());
  auto kv1 = create("local", test_config());
  trainer one(*kv1, make_params(1), make_grads(1), momentum());
  REQUIRE_FALSE(one.update_on_kvstore());  // MXNet uses no store for one device
  auto kv2 = create("local", test_config());
  trainer_options o;
  o.update_on_kvstore = true;  // the user's choice wins
  trainer forced(*kv2, make_params(1), make_grads(1), momentum(), o);
  REQUIRE(forced.update_on_kvstore());
}

TEST_CASE("a trainer with names uses them as string keys", "[trainer]") {
  auto kv = create("local", test_config());
  auto params = make_params(2);
  auto grads = make_grads(2);
  trainer_options o;
  o.names = {"fc1_weight", "fc1_bias", "fc2_weight"};
  trainer tr(*kv, params, grads, create_optimizer("test", {{"rescale_grad", 1}}), o);
  fill_grads(grads, 1);
  tr.step();
  auto out = ndarray::zeros(shapes()[1]);
  kv->pull("fc1_bias", out);
  REQUIRE(out.to_vector<float>() == params[1][0].to_vector<float>());
}

TEST_CASE("trainer states resume bit-exactly in both policies", "[trainer]") {
  for (bool on_store : {true, false}) {
    INFO("update_on_kvstore " << on_store);
    auto path = std::string("trainer_states_") + (on_store ? "store" : "devices") + ".bin";
    trainer_options o;
    o.update_on_kvstore = on_store;
    auto opt = create_optimizer("adam", {{"learning_rate", 0.01}});
    // A run of five steps, saved after two.
    auto kv = create("local", test_config());
    auto params = make_params(2);
    auto grads = make_grads(2);
    trainer tr(*kv, params, grads, opt, o);
    lists at_two;
    for (int t = 1; t <= 5; ++t) {
      fill_grads(grads, t);
      tr.step();
      if (t == 2) {
        kv->wait_all();
        tr.save_states(path);
        for (auto& p : params) {
          at_two.emplace_back();
          for (auto& w : p)
            at_two.back().push_back(w.copy_to(w.device()));
        }
      }
    }
    auto full = values(params);
    // A new store and trainer from the weights and states of step two.
    auto kv2 = create("local", test_config());
    auto grads2 = make_grads(2);
    trainer resumed(*kv2, at_two, grads2, opt, o);
    resumed.load_states(path);
    for (int t = 3; t <= 5; ++t) {
      fill_grads(grads2, t);
      resumed.step();
    }
    REQUIRE(values(at_two) == full);
    std::remove(path.c_str());
  }
}

TEST_CASE("trainer load_states refuses a file of another optimizer or model", "[trainer]") {
  trainer_options o;
  o.update_on_kvstore = false;
  auto kv = create("local", test_config());
  auto grads = make_grads(2);
  trainer tr(*kv, make_params(2), grads, momentum(), o);
  fill_grads(grads, 1);
  tr.step();
  tr.save_states("trainer_other.bin");
  auto kv2 = create("local", test_config());
  trainer adam(*kv2, make_params(2), make_grads(2), create_optimizer("adam"), o);
  require_message([&] { adam.load_states("trainer_other.bin"); }, errc::invalid_argument,
                  {"sgd", "adam"});
  auto kv3 = create("local", test_config());
  trainer three(*kv3, make_params(3), make_grads(3), momentum(), o);
  require_message([&] { three.load_states("trainer_other.bin"); }, errc::invalid_argument,
                  {"6 device states", "9"});
  require_message([&] { three.load_states("no_such_trainer_file.bin"); }, errc::io_error,
                  {"no_such_trainer_file.bin"});
  std::remove("trainer_other.bin");
}

TEST_CASE("trainer mismatched parameter and gradient lists fail naming what differs",
          "[trainer]") {
  auto kv = create("local", test_config());
  auto opt = momentum();
  auto p = make_params(2);
  auto g = make_grads(2);
  require_message([&] { trainer t(*kv, p, {g[0], g[1]}, opt); }, errc::invalid_argument,
                  {"3 parameters", "2 gradient lists"});
  require_message([&] { trainer t(*kv, p, g, nullptr); }, errc::invalid_argument, {"optimizer"});
  require_message([&] { trainer t(*kv, {}, {}, opt); }, errc::invalid_argument, {"no parameters"});
  auto short_p = p;
  short_p[2].pop_back();
  require_message([&] { trainer t(*kv, short_p, g, opt); }, errc::invalid_argument,
                  {"parameter 2 is on 1 devices", "on 2"});
  auto short_g = g;
  short_g[1].pop_back();
  require_message([&] { trainer t(*kv, p, short_g, opt); }, errc::invalid_argument,
                  {"parameter 1 has 2 weights but 1 gradients"});
  auto bad_shape = g;
  bad_shape[0][1] = ndarray::zeros({4, 3}, dtype::f32, cpu(1));
  require_message([&] { trainer t(*kv, p, bad_shape, opt); }, errc::shape_mismatch,
                  {"parameter 0 on device 1", "(4,3)", "(3,4)"});
  auto bad_dtype = g;
  bad_dtype[1][0] = ndarray::zeros({4}, dtype::f64, cpu(0));
  require_message([&] { trainer t(*kv, p, bad_dtype, opt); }, errc::dtype_mismatch,
                  {"parameter 1 on device 0", "f64", "f32"});
  auto bad_device = g;
  bad_device[1][1] = ndarray::zeros({4}, dtype::f32, cpu(5));
  require_message([&] { trainer t(*kv, p, bad_device, opt); }, errc::invalid_argument,
                  {"cpu(5)", "cpu(1)"});
  auto skew_p = p;
  skew_p[0][1] = ndarray::zeros({2, 2}, dtype::f32, cpu(1));
  require_message([&] { trainer t(*kv, skew_p, g, opt); }, errc::shape_mismatch,
                  {"parameter 0 on device 1", "(2,2)", "(3,4)"});
  trainer_options o;
  o.names = {"a", "b"};
  require_message([&] { trainer t(*kv, p, g, opt, o); }, errc::invalid_argument,
                  {"2 names for 3 parameters"});
  o.names = {"a", "b", "a"};
  require_message([&] { trainer t(*kv, p, g, opt, o); }, errc::invalid_argument, {"\"a\"", "twice"});
}
