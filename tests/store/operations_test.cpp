#include <catch2/catch.hpp>

#include "../test_config.hpp"
#include "actors/spawn_function.hpp"

using namespace kvs;

TEST_CASE("without an updater a push replaces the stored value", "[store]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::full({4}, 10.0));
  kv->push(1, ndarray::full({4}, 1.0));
  kv->push(1, ndarray::full({4}, 2.0));
  auto out = ndarray::zeros({4});
  kv->pull(1, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(4, 2.0f));
}

TEST_CASE("repeated keys in one push are summed", "[store]") {
  auto kv = create("local", test_config());
  kv->init(std::vector<key>{1, 2}, {ndarray::zeros({3}), ndarray::zeros({3})});
  kv->push(std::vector<key>{1, 2, 1}, {ndarray::full({3}, 1.0), ndarray::full({3}, 5.0),
                                       ndarray::full({3}, 2.0)});
  auto a = ndarray::zeros({3}), b = ndarray::zeros({3}), c = ndarray::zeros({3});
  kv->pull(std::vector<key>{1, 2, 1}, {a, b, c});
  REQUIRE(a.to_vector<float>() == std::vector<float>(3, 3.0f));
  REQUIRE(b.to_vector<float>() == std::vector<float>(3, 5.0f));
  REQUIRE(c.to_vector<float>() == std::vector<float>(3, 3.0f));
}

TEST_CASE("a pushpull of many string keys, some repeated, fills every output with its key's sum",
          "[store]") {
  auto kv = create("local", test_config());
  std::vector<key> keys;
  std::vector<ndarray> zeros, values, outs;
  for (int i = 0; i < 300; ++i) {
    keys.push_back("w" + std::to_string(i));
    zeros.push_back(ndarray::zeros({2}));
  }
  kv->init(keys, zeros);
  std::vector<key> call;
  std::vector<float> want;
  for (int i = 0; i < 300; ++i) {  // every third key again, further on
    call.push_back(keys[static_cast<size_t>(i)]);
    values.push_back(ndarray::full({2}, i));
    want.push_back(static_cast<float>(i % 3 == 0 ? i + 1000 : i));
  }
  for (int i = 0; i < 300; i += 3) {
    call.push_back(keys[static_cast<size_t>(i)]);
    values.push_back(ndarray::full({2}, 1000.0));
    want.push_back(static_cast<float>(i + 1000));
  }
  for (size_t i = 0; i < call.size(); ++i)
    outs.push_back(ndarray::zeros({2}));
  kv->pushpull(call, values, outs);
  for (size_t i = 0; i < call.size(); ++i) {
    INFO("output " << i << " of key " << call[i].to_string());
    REQUIRE(outs[i].to_vector<float>() == std::vector<float>(2, want[i]));
  }
}

TEST_CASE("pushpull sums and fills the outputs, or the values in place", "[store]") {
  auto kv = create("local", test_config());
  kv->init(4, ndarray::zeros({2, 2}));
  auto out = ndarray::zeros({2, 2});
  kv->pushpull(4, ndarray::full({2, 2}, 8.0), out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(4, 8.0f));
  std::vector<ndarray> vals{ndarray::full({2, 2}, 1.0, dtype::f32, cpu(0)),
                            ndarray::full({2, 2}, 2.0, dtype::f32, cpu(1))};
  kv->pushpull(4, vals);
  REQUIRE(vals[0].to_vector<float>() == std::vector<float>(4, 3.0f));
  REQUIRE(vals[1].to_vector<float>() == std::vector<float>(4, 3.0f));
  auto single = ndarray::full({2, 2}, 6.0);
  kv->pushpull(4, single);
  REQUIRE(single.to_vector<float>() == std::vector<float>(4, 6.0f));
  std::vector<ndarray> outs{ndarray::zeros({2, 2}), ndarray::zeros({2, 2})};
  kv->pushpull(4, vals, outs);
  REQUIRE(outs[1].to_vector<float>() == std::vector<float>(4, 6.0f));
}

TEST_CASE("pushpull list forms work per key", "[store]") {
  auto kv = create("local", test_config());
  std::vector<key> keys{"a", "b"};
  kv->init(keys, {ndarray::zeros({2}), ndarray::zeros({2})});
  std::vector<ndarray> outs{ndarray::zeros({2}), ndarray::zeros({2})};
  kv->pushpull(keys, {ndarray::full({2}, 1.0), ndarray::full({2}, 2.0)}, outs);
  REQUIRE(outs[0].to_vector<float>() == std::vector<float>(2, 1.0f));
  REQUIRE(outs[1].to_vector<float>() == std::vector<float>(2, 2.0f));
  std::vector<std::vector<ndarray>> in_place{{ndarray::full({2}, 1.0), ndarray::full({2}, 4.0)},
                                             {ndarray::full({2}, 7.0)}};
  kv->pushpull(keys, in_place);
  REQUIRE(in_place[0][1].to_vector<float>() == std::vector<float>(2, 5.0f));
  REQUIRE(in_place[1][0].to_vector<float>() == std::vector<float>(2, 7.0f));
}

TEST_CASE("broadcast stores the value and fills every output", "[store]") {
  auto kv = create("local", test_config());
  auto a = ndarray::zeros({2, 3});
  kv->broadcast("3", ndarray::full({2, 3}, 2.0), a);
  REQUIRE(a.to_vector<float>() == std::vector<float>(6, 2.0f));
  std::vector<ndarray> outs{ndarray::zeros({2}, dtype::f32, cpu(0)),
                            ndarray::zeros({2}, dtype::f32, cpu(1))};
  kv->broadcast("4", ndarray::full({2}, 5.0), outs);
  REQUIRE(outs[1].to_vector<float>() == std::vector<float>(2, 5.0f));
  std::vector<ndarray> list_outs{ndarray::zeros({1}), ndarray::zeros({1})};
  kv->broadcast(std::vector<key>{"5", "6"}, {ndarray::full({1}, 1.0), ndarray::full({1}, 2.0)},
                list_outs);
  REQUIRE(list_outs[1].to_vector<float>() == std::vector<float>{2.0f});
  REQUIRE_KVS_ERROR(kv->broadcast("3", ndarray::full({2, 3}, 2.0), a), errc::duplicate_init);
}

TEST_CASE("every dtype sums exactly through the store", "[store]") {
  auto kv = create("local", test_config());
  int k = 0;
  for (auto t : {dtype::f16, dtype::bf16, dtype::f32, dtype::f64, dtype::i32, dtype::i64, dtype::u8}) {
    kv->init(k, ndarray::zeros({5}, t));
    kv->push(k, {ndarray::full({5}, 3.0, t), ndarray::full({5}, 4.0, t)});
    auto out = ndarray::zeros({5}, t);
    kv->pull(k, out);
    REQUIRE(out.to_vector<double>() == std::vector<double>(5, 7.0));
    ++k;
  }
}

TEST_CASE("big keys go through the reducer actor and its threads", "[store]") {
  auto cfg = test_config();
  cfg.bigarray_bound = 100000;  // several threads above this
  cfg.inline_bound = 1000;      // the shard hands bigger work to the reducer
  auto kv = create("local", cfg);
  for (int64_t n : {int64_t{5000}, int64_t{250001}}) {
    kv->init(n, ndarray::zeros({n}));
    std::vector<ndarray> ins;
    for (int d = 0; d < 3; ++d) {
      auto a = ndarray::zeros({n}, dtype::f32, cpu(d));
      float* p = a.data<float>();
      for (int64_t i = 0; i < n; ++i)
        p[i] = static_cast<float>((i % 1000) * (d + 1));
      ins.push_back(a);
    }
    kv->push(n, ins);
    auto out = ndarray::zeros({n});
    kv->pull(n, out);
    auto v = out.to_vector<float>();
    for (int64_t i = 0; i < n; i += 997)
      REQUIRE(v[i] == static_cast<float>((i % 1000) * 6));
    REQUIRE(v[n - 1] == static_cast<float>(((n - 1) % 1000) * 6));
  }
}

TEST_CASE("a row_sparse push is summed as its dense value", "[store]") {
  auto kv = create("local", test_config());
  kv->init(2, ndarray::zeros({4, 2}));
  auto rs = ndarray::row_sparse({4, 2}, {1, 3}, ndarray::from_vector<float>({1, 2, 3, 4}, {2, 2}));
  kv->push(2, {rs, ndarray::full({4, 2}, 1.0)});
  auto out = ndarray::zeros({4, 2});
  kv->pull(2, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>{1, 1, 2, 3, 1, 1, 4, 5});
}

TEST_CASE("pull skips row_sparse outputs when ignore_sparse is set, and fills every row when not", "[store]") {
  auto kv = create("local", test_config());
  kv->init(2, ndarray::full({4, 2}, 3.0));
  auto rs = ndarray::row_sparse({4, 2}, {0}, ndarray::zeros({1, 2}));
  auto dense = ndarray::zeros({4, 2});
  kv->pull(2, std::vector<ndarray>{rs, dense});
  REQUIRE(dense.to_vector<float>() == std::vector<float>(8, 3.0f));
  REQUIRE(rs.rows().to_vector<float>() == std::vector<float>(2, 0.0f));
  kv->pull(2, rs, 0, false);  // MXNet: every row of the key
  REQUIRE(rs.row_ids() == std::vector<int64_t>{0, 1, 2, 3});
  REQUIRE(rs.to_vector<float>() == std::vector<float>(8, 3.0f));
}

TEST_CASE("an array being pushed cannot change under the push", "[store]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::zeros({3}));
  std::atomic<bool> release{false};
  kv->set_updater([&](const key&, const ndarray& in, ndarray& stored) {
    while (!release.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto v = in.to_vector<float>();
    std::copy(v.begin(), v.end(), stored.data<float>());
  });
  auto grad = ndarray::full({3}, 1.0);
  kv->push(1, grad);
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release = true;
  });
  grad.data<float>()[0] = 100;  // waits until the push has read grad
  opener.join();
  auto out = ndarray::zeros({3});
  kv->pull(1, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(3, 1.0f));
}

TEST_CASE("wait_all waits for everything issued", "[store]") {
  auto kv = create("local", test_config());
  std::vector<key> keys;
  std::vector<ndarray> vals, outs;
  for (int i = 0; i < 200; ++i) {
    keys.push_back(i);
    vals.push_back(ndarray::full({8}, i));
    outs.push_back(ndarray::zeros({8}));
  }
  kv->init(keys, vals);
  kv->push(keys, vals);
  kv->pull(keys, outs);
  kv->wait_all();
  for (int i = 0; i < 200; ++i)
    REQUIRE(outs[i].to_vector<float>()[7] == static_cast<float>(i));
}

TEST_CASE("local stores answer type, rank and capabilities", "[store]") {
  for (auto type : {"local", "local_update_cpu", "local_allreduce_cpu", "device",
                    "local_allreduce_device"}) {
    auto kv = create(type, test_config());
    REQUIRE(kv->type() == type);
    REQUIRE(kv->rank() == 0);
    REQUIRE(kv->num_workers() == 1);
    REQUIRE(kv->local_rank() == 0);
    REQUIRE(kv->is_capable("optimizer"));
    // MXNet compresses between devices: device types only.
    REQUIRE(kv->is_capable("gradient_compression") ==
            (std::string(type).find("device") != std::string::npos));
  }
}

TEST_CASE("a user's updater actor spawned in the store's system updates keys", "[store][actors]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::full({2}, 1.0));
  auto doubling = kvs::detail::spawn_function(kv->system(), []() -> updater_actor::behavior_type {
    return {[](update_atom, update_request& r) {
      auto g = r.grad.to_vector<float>();
      float* w = r.weight.data<float>();
      for (size_t i = 0; i < g.size(); ++i)
        w[i] = w[i] * 2 + g[i];
    }};
  });
  kv->set_updater(doubling);
  kv->push(1, ndarray::full({2}, 3.0));
  auto out = ndarray::zeros({2});
  kv->pull(1, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(2, 5.0f));
  caf::anon_send_exit(doubling, caf::exit_reason::user_shutdown);
}
