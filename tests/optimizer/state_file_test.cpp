#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "../test_config.hpp"

using namespace kvs;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/kvs_test_" + std::to_string(::getpid()) + "_" + name;
}

const std::vector<key> kKeys{"w1", "w2", "w3"};

std::unique_ptr<kvstore> store_with(const std::vector<std::vector<float>>& weights) {
  auto kv = create("local", test_config());
  std::vector<ndarray> vals;
  for (auto& w : weights)
    vals.push_back(ndarray::from_vector<float>(w, {static_cast<int64_t>(w.size())}));
  kv->init(kKeys, vals);
  return kv;
}

// Step i pushes a gradient that depends on i and the key, so every step differs.
void train(kvstore& kv, int from, int to) {
  for (int i = from; i < to; ++i)
    for (size_t k = 0; k < kKeys.size(); ++k) {
      std::vector<float> g(5);
      for (size_t j = 0; j < g.size(); ++j)
        g[j] = static_cast<float>(std::sin(0.3 * i + 0.7 * static_cast<double>(k) + static_cast<double>(j)));
      kv.push(kKeys[k], ndarray::from_vector<float>(g, {5}));
    }
}

std::vector<std::vector<float>> weights(kvstore& kv) {
  std::vector<std::vector<float>> out;
  for (auto& k : kKeys) {
    auto a = ndarray::zeros({5});
    kv.pull(k, a);
    out.push_back(a.to_vector<float>());
  }
  return out;
}

std::shared_ptr<optimizer> adam_with_schedule() {
  return create_optimizer("adam", {{"learning_rate", 0.05}, {"wd", 0.01}, {"step", 3}, {"factor", 0.7}},
                          {{"lr_scheduler", "factor"}});
}

}  // namespace

TEST_CASE("training resumed from a state file continues bit-identically", "[optimizer][state]") {
  auto path = temp_path("resume.kvsstate");
  std::vector<std::vector<float>> w0(3, std::vector<float>{0.5f, -1, 2, 0.25f, 3});
  auto a = store_with(w0);
  a->set_optimizer(adam_with_schedule());
  train(*a, 0, 5);
  a->save_optimizer_states(path, true);
  auto at_save = weights(*a);
  train(*a, 5, 12);
  auto uninterrupted = weights(*a);

  auto b = store_with(at_save);  // the weights come from the model checkpoint
  b->load_optimizer_states(path);  // the optimizer comes from the file
  train(*b, 5, 12);
  REQUIRE(weights(*b) == uninterrupted);
  std::remove(path.c_str());
}

TEST_CASE("without dump_optimizer the file holds states only", "[optimizer][state]") {
  auto path = temp_path("nodump.kvsstate");
  std::vector<std::vector<float>> w0(3, std::vector<float>{1, 2, 3, 4, 5});
  auto a = store_with(w0);
  a->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}}));
  train(*a, 0, 3);
  a->save_optimizer_states(path);
  auto at_save = weights(*a);
  train(*a, 3, 6);
  auto uninterrupted = weights(*a);

  auto fresh = store_with(at_save);
  REQUIRE_KVS_ERROR(fresh->load_optimizer_states(path), errc::invalid_argument);  // no optimizer
  fresh->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}}));
  fresh->load_optimizer_states(path);
  train(*fresh, 3, 6);
  REQUIRE(weights(*fresh) == uninterrupted);  // sgd's momentum is all its state
  std::remove(path.c_str());
}

TEST_CASE("a missing, truncated, corrupt or mismatched file is an error that changes nothing",
          "[optimizer][state]") {
  auto path = temp_path("bad.kvsstate");
  std::vector<std::vector<float>> w0(3, std::vector<float>{1, 2, 3, 4, 5});
  auto a = store_with(w0);
  a->set_optimizer(adam_with_schedule());
  train(*a, 0, 3);
  a->save_optimizer_states(path, true);
  std::string good;
  {
    std::ifstream in(path, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto write = [&](const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  // The reference: what training does with no load at all.
  auto reference = store_with(weights(*a));
  reference->load_optimizer_states(path);
  auto b = store_with(weights(*a));
  b->load_optimizer_states(path);

  REQUIRE_KVS_ERROR(b->load_optimizer_states(temp_path("does_not_exist")), errc::io_error);
  write(good.substr(0, good.size() / 2));
  REQUIRE_KVS_ERROR(b->load_optimizer_states(path), errc::corrupt_file);
  auto flipped = good;
  flipped[flipped.size() - 3] ^= 0x5a;
  write(flipped);
  REQUIRE_KVS_ERROR(b->load_optimizer_states(path), errc::corrupt_file);
  write("not a state file at all, but long enough to have a header");
  REQUIRE_KVS_ERROR(b->load_optimizer_states(path), errc::corrupt_file);
  auto future = good;
  future[8] = 9;  // format version 9
  write(future);
  REQUIRE_KVS_ERROR(b->load_optimizer_states(path), errc::corrupt_file);

  // A file from a store whose keys have another shape.
  auto other = create("local", test_config());
  other->init(kKeys, {ndarray::zeros({7}), ndarray::zeros({7}), ndarray::zeros({7})});
  other->set_optimizer(adam_with_schedule());
  other->push("w1", ndarray::full({7}, 1.0));
  auto other_path = temp_path("other.kvsstate");
  other->save_optimizer_states(other_path, true);
  REQUIRE_KVS_ERROR(b->load_optimizer_states(other_path), errc::shape_mismatch);
  // A file whose optimizer keeps another number of state arrays.
  auto sgd_store = store_with(w0);
  sgd_store->set_optimizer(create_optimizer("sgd", {{"momentum", 0.5}}));
  train(*sgd_store, 0, 1);
  sgd_store->save_optimizer_states(other_path, false);
  REQUIRE_KVS_ERROR(b->load_optimizer_states(other_path), errc::invalid_argument);

  // After every failure b trains exactly like the reference.
  train(*reference, 3, 7);
  train(*b, 3, 7);
  REQUIRE(weights(*b) == weights(*reference));
  std::remove(path.c_str());
  std::remove(other_path.c_str());
}

TEST_CASE("saving needs an optimizer and a writable path", "[optimizer][state]") {
  auto kv = create("local", test_config());
  kv->init(0, ndarray::zeros({1}));
  REQUIRE_KVS_ERROR(kv->save_optimizer_states(temp_path("none")), errc::invalid_argument);
  kv->set_optimizer(create_optimizer("sgd"));
  REQUIRE_KVS_ERROR(kv->save_optimizer_states("/nonexistent-dir/x/state"), errc::io_error);
}

TEST_CASE("every optimizer's configuration round-trips through cereal", "[optimizer][state]") {
  for (auto& name : optimizer::names()) {
    auto o = create_optimizer(name, {{"learning_rate", 0.125}, {"wd", 0.5}, {"max_update", 50}},
                              {{"lr_scheduler", "cosine"}});
    auto back = optimizer::deserialize(o->serialize());
    REQUIRE(back->name() == name);
    REQUIRE(back->numbers() == o->numbers());
    REQUIRE(back->options() == o->options());
    REQUIRE(back->learning_rate(7) == o->learning_rate(7));
    REQUIRE(back->state_arrays() == o->state_arrays());
  }
  auto bytes = create_optimizer("adam")->serialize();
  REQUIRE_KVS_ERROR(optimizer::deserialize(bytes.substr(0, bytes.size() / 2)), errc::corrupt_file);
}
