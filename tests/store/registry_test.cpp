#include <catch2/catch.hpp>

#include "../test_config.hpp"

using namespace kvs;

namespace {
// An allreduce-only backend like the seeds' TestStore: no server-side state.
class test_store : public kvstore {
protected:
  void do_init(const key_list&, const array_list&) override {}
  void do_push(const key_list&, const array_lists&, int) override {
    throw error(errc::unsupported, "teststore has no push");
  }
  void do_pull(const key_list&, const array_lists&, int, bool) override {
    throw error(errc::unsupported, "teststore has no pull");
  }
  void do_pushpull(const key_list& keys, const array_lists& values, const array_lists& outs,
                   int) override {
    for (size_t i = 0; i < keys.size(); ++i) {
      std::vector<float> sum(values[i][0].size(), 0.0f);
      for (auto& v : values[i]) {
        auto x = v.to_vector<float>();
        for (size_t j = 0; j < x.size(); ++j)
          sum[j] += x[j];
      }
      for (auto o : outs[i])
        std::copy(sum.begin(), sum.end(), o.data<float>());
    }
  }
  void do_wait_all() override {}
  std::string do_type() const override { return "teststore"; }
};
}  // namespace

TEST_CASE("a registered backend is created by name and runs through the hooks", "[registry]") {
  register_kvstore("teststore", [](const config&) { return std::make_unique<test_store>(); });
  auto kv = create("teststore");
  REQUIRE(kv->type() == "teststore");
  REQUIRE_FALSE(kv->is_capable("optimizer"));
  std::vector<ndarray> vals{ndarray::full({3}, 1.0), ndarray::full({3}, 2.0)};
  kv->pushpull(3, vals);
  REQUIRE(vals[1].to_vector<float>() == std::vector<float>(3, 3.0f));
  REQUIRE_KVS_ERROR(kv->set_optimizer(nullptr), errc::invalid_argument);
  REQUIRE_KVS_ERROR(kv->save_optimizer_states("x"), errc::unsupported);
  auto types = kvstore_types();
  REQUIRE(std::find(types.begin(), types.end(), "teststore") != types.end());
}

TEST_CASE("built-in names cannot be registered over", "[registry]") {
  REQUIRE_KVS_ERROR(register_kvstore("local", [](const config&) { return std::unique_ptr<kvstore>(); }),
                    errc::invalid_argument);
  REQUIRE_KVS_ERROR(register_kvstore("x", nullptr), errc::invalid_argument);
}

TEST_CASE("distributed types need their cluster settings", "[registry]") {
  require_message([] { create("dist_sync", test_config()); }, errc::invalid_config, {"DMLC_ROLE"});
  require_message([] { serve(test_config()); }, errc::invalid_config, {"DMLC_ROLE"});
}
