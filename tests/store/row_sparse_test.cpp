// row_sparse values through the public API in the in-process stores (local
// and device), after MXNet's sparse kvstore tests
// (tests/python/unittest/test_kvstore.py): pushes from several devices,
// row_sparse_pull with duplicate and multi-dimensional ids, empty pushes and
// pulls, lazy updates; every value checked exactly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "../test_config.hpp"

using namespace kvs;

namespace {

// A row_sparse {rows, cols} array whose row r holds r * 10 + c + base (c the column).
ndarray rsp(int64_t rows, int64_t cols, std::vector<int64_t> ids, float base = 0,
            device d = cpu()) {
  std::vector<float> v;
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c)
      v.push_back(static_cast<float>(r * 10 + c) + base);
  auto n = static_cast<int64_t>(ids.size());
  return ndarray::row_sparse({rows, cols}, std::move(ids), ndarray::from_vector(v, {n, cols}, d));
}

ndarray empty_rsp(int64_t rows, int64_t cols) {
  return ndarray::row_sparse({rows, cols}, {}, ndarray::zeros({0, cols}));
}

// The dense value of rsp(rows, cols, ids, base) summed `times` times.
std::vector<float> dense_of(int64_t rows, int64_t cols, const std::vector<int64_t>& ids,
                            float base = 0) {
  std::vector<float> v(static_cast<size_t>(rows * cols), 0.0f);
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c)
      v[static_cast<size_t>(r * cols + c)] += static_cast<float>(r * 10 + c) + base;
  return v;
}

std::vector<float> rows_of(const std::vector<float>& dense, int64_t cols,
                           const std::vector<int64_t>& ids) {
  std::vector<float> out;
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c)
      out.push_back(dense[static_cast<size_t>(r * cols + c)]);
  return out;
}

const char* const in_process[] = {"local", "device"};

}  // namespace

TEST_CASE("row_sparse pushes from several devices sum with dense pushes into dense and row_sparse keys", "[store][sparse]") {
  for (auto type : in_process) {
    INFO(type);
    auto kv = create(type, test_config());
    kv->init(3, ndarray::zeros({6, 2}));                 // a dense key
    kv->init(4, rsp(6, 2, {1, 4}));                      // a row_sparse key
    for (int k : {3, 4}) {
      // Only row_sparse values: stored = their sum, zero in rows none pushed.
      kv->push(k, {rsp(6, 2, {0, 2}, 0, cpu(0)), rsp(6, 2, {2, 5}, 1, cpu(1))});
      auto out = ndarray::zeros({6, 2});
      kv->pull(k, out);
      auto want = dense_of(6, 2, {0, 2});
      auto more = dense_of(6, 2, {2, 5}, 1);
      for (size_t i = 0; i < want.size(); ++i)
        want[i] += more[i];
      REQUIRE(out.to_vector<float>() == want);
      // A dense value among them: the sum is dense.
      kv->push(k, {rsp(6, 2, {3}), ndarray::full({6, 2}, 1.0)});
      kv->pull(k, out);
      auto dense = dense_of(6, 2, {3});
      for (auto& x : dense)
        x += 1;
      REQUIRE(out.to_vector<float>() == dense);
    }
  }
}

TEST_CASE("row_sparse_pull returns the asked rows, made sorted and unique, from ids of any shape", "[store][sparse]") {
  for (auto type : in_process) {
    INFO(type);
    auto kv = create(type, test_config());
    kv->init(7, rsp(8, 3, {0, 1, 2, 3, 4, 5, 6, 7}));
    // Duplicates, out of order, in a 2-D id array of int32.
    auto ids = ndarray::from_vector<int32_t>({6, 1, 6, 3, 1, 0}, {2, 3});
    auto out = empty_rsp(8, 3);
    kv->row_sparse_pull(7, out, ids);
    REQUIRE(out.row_ids() == std::vector<int64_t>{0, 1, 3, 6});
    REQUIRE(out.rows().to_vector<float>() == rows_of(dense_of(8, 3, {0, 1, 2, 3, 4, 5, 6, 7}), 3, {0, 1, 3, 6}));
    auto dense = dense_of(8, 3, {0, 1, 3, 6});  // others absent: zero when densified
    REQUIRE(out.to_vector<float>() == dense);
    // One id list per output (per device); an empty list gives no rows.
    auto a = empty_rsp(8, 3), b = empty_rsp(8, 3), c = empty_rsp(8, 3);
    kv->row_sparse_pull(7, {a, b, c},
                        {ndarray::from_vector<int64_t>({7}, {1}), ndarray::from_vector<int64_t>({2, 2, 5}, {3}),
                         ndarray::from_vector<int64_t>({}, {0})});
    REQUIRE(a.row_ids() == std::vector<int64_t>{7});
    REQUIRE(a.rows().to_vector<float>() == std::vector<float>{70, 71, 72});
    REQUIRE(b.row_ids() == std::vector<int64_t>{2, 5});
    REQUIRE(b.rows().to_vector<float>() == std::vector<float>{20, 21, 22, 50, 51, 52});
    REQUIRE(c.row_ids().empty());
    REQUIRE(c.to_vector<float>() == std::vector<float>(24, 0.0f));
    // Outputs sharing one id array.
    auto d0 = empty_rsp(8, 3), d1 = rsp(8, 3, {4});
    auto shared = ndarray::from_vector<int64_t>({5, 4}, {2});
    kv->row_sparse_pull(7, {d0, d1}, {shared, shared});
    REQUIRE(d0.row_ids() == std::vector<int64_t>{4, 5});
    REQUIRE(d1.rows().to_vector<float>() == std::vector<float>{40, 41, 42, 50, 51, 52});
  }
}

TEST_CASE("row_sparse_pull of a dense key fills a row_sparse output with the asked rows", "[store][sparse]") {
  for (auto type : in_process) {
    INFO(type);
    auto kv = create(type, test_config());
    std::vector<float> v(20);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = static_cast<float>(i);
    kv->init("w", ndarray::from_vector(v, {5, 4}));
    auto out = empty_rsp(5, 4);
    kv->row_sparse_pull("w", out, ndarray::from_vector<int64_t>({4, 0}, {2}));
    REQUIRE(out.row_ids() == std::vector<int64_t>{0, 4});
    REQUIRE(out.rows().to_vector<float>() == std::vector<float>{0, 1, 2, 3, 16, 17, 18, 19});
    // A pull after a push sees the push.
    kv->push("w", rsp(5, 4, {4}));
    kv->row_sparse_pull("w", out, ndarray::from_vector<int64_t>({4}, {1}));
    REQUIRE(out.rows().to_vector<float>() == std::vector<float>{40, 41, 42, 43});
  }
}

TEST_CASE("empty row_sparse pushes and pulls", "[store][sparse]") {
  for (auto type : in_process) {
    INFO(type);
    auto kv = create(type, test_config());
    kv->init(1, ndarray::full({4, 2}, 5.0));
    kv->init(2, ndarray::full({4, 2}, 5.0));
    // Without an updater stored = the pushed sum: an empty one is all zeros.
    kv->push(1, empty_rsp(4, 2));
    auto out = ndarray::full({4, 2}, -1.0);
    kv->pull(1, out);
    REQUIRE(out.to_vector<float>() == std::vector<float>(8, 0.0f));
    // With a lazy optimizer an empty push changes nothing.
    kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.5}, {"wd", 0.5}}));
    kv->push(2, {empty_rsp(4, 2), empty_rsp(4, 2)});
    auto rows = empty_rsp(4, 2);
    kv->row_sparse_pull(2, rows, ndarray::from_vector<int64_t>({}, {0}));
    REQUIRE(rows.row_ids().empty());
    kv->pull(2, out);
    REQUIRE(out.to_vector<float>() == std::vector<float>(8, 5.0f));
  }
}

TEST_CASE("lazy sgd updates only the pushed rows, and every row without lazy_update", "[store][sparse][optimizer]") {
  for (auto type : in_process) {
    INFO(type);
    for (int lazy : {1, 0}) {
      INFO("lazy_update " << lazy);
      auto kv = create(type, test_config());
      kv->init(0, ndarray::full({4, 2}, 2.0));
      kv->set_optimizer(create_optimizer(
          "sgd", {{"learning_rate", 0.5}, {"wd", 0.5}, {"lazy_update", static_cast<double>(lazy)}}));
      // Two devices push rows 1 and 3 (1 + 1 = 2 in row 3).
      kv->push(0, {ndarray::row_sparse({4, 2}, {1, 3}, ndarray::full({2, 2}, 1.0)),
                   ndarray::row_sparse({4, 2}, {3}, ndarray::full({1, 2}, 1.0, dtype::f32, cpu(1)))});
      auto out = ndarray::zeros({4, 2});
      kv->pull(0, out);
      // w -= lr * (g + wd * w): pushed rows 2 - 0.5 * (g + 1); others 2 - 0.5 or 2.
      float untouched = lazy ? 2.0f : 1.5f;
      REQUIRE(out.to_vector<float>() ==
              std::vector<float>{untouched, untouched, 1.0f, 1.0f, untouched, untouched, 0.5f, 0.5f});
    }
  }
}

TEST_CASE("lazy adam on row_sparse pushes matches adam on the same dense gradient in the pushed rows", "[store][sparse][optimizer]") {
  auto opts = std::map<std::string, double>{{"learning_rate", 0.125}, {"wd", 0.0}};
  auto sparse = create("local", test_config());
  auto dense = create("local", test_config());
  auto w0 = rsp(6, 3, {0, 1, 2, 3, 4, 5});
  sparse->init(0, w0);
  dense->init(0, ndarray::from_vector(dense_of(6, 3, {0, 1, 2, 3, 4, 5}), {6, 3}));
  sparse->set_optimizer(create_optimizer("adam", opts));
  dense->set_optimizer(create_optimizer("adam", opts));
  for (int step = 0; step < 3; ++step) {
    std::vector<int64_t> ids = {1, 4};
    sparse->push(0, rsp(6, 3, ids, static_cast<float>(step)));
    dense->push(0, ndarray::from_vector(dense_of(6, 3, ids, static_cast<float>(step)), {6, 3}));
  }
  auto a = empty_rsp(6, 3);
  sparse->row_sparse_pull(0, a, ndarray::from_vector<int64_t>({0, 1, 2, 3, 4, 5}, {6}));
  auto b = ndarray::zeros({6, 3});
  dense->pull(0, b);
  auto got = a.to_vector<float>(), want = b.to_vector<float>();
  auto start = dense_of(6, 3, {0, 1, 2, 3, 4, 5});
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t c = 0; c < 3; ++c) {
      auto i = static_cast<size_t>(r * 3 + c);
      if (r == 1 || r == 4)
        REQUIRE(got[i] == want[i]);  // the same rule on the same gradient
      else
        REQUIRE(got[i] == start[i]);  // lazy: never touched
    }
  REQUIRE(got[3] != start[3]);  // and the pushed rows did move
}

TEST_CASE("row_sparse_pull errors: a dense output, ids out of range, non-integer ids", "[store][sparse][errors]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::zeros({4, 2}));
  require_message([&] { kv->row_sparse_pull(1, ndarray::zeros({4, 2}), ndarray::from_vector<int64_t>({0}, {1})); },
                  errc::invalid_argument, {"row_sparse_pull", "key 1", "dense"});
  require_message([&] { kv->row_sparse_pull(1, empty_rsp(4, 2), ndarray::from_vector<float>({0.5f}, {1})); },
                  errc::dtype_mismatch, {"row_sparse_pull", "key 1", "integers", "f32"});
  require_message([&] { kv->row_sparse_pull(1, empty_rsp(5, 2), ndarray::from_vector<int64_t>({0}, {1})); },
                  errc::shape_mismatch, {"key 1"});
  // Ids past the key fail the operation: the error surfaces at the read.
  auto out = empty_rsp(4, 2);
  kv->row_sparse_pull(1, out, ndarray::from_vector<int64_t>({1, 4}, {2}));
  require_message([&] { out.wait_to_read(); }, errc::invalid_argument, {"key 1", "row id 4", "[0, 4)"});
  auto negative = empty_rsp(4, 2);
  kv->row_sparse_pull(1, negative, ndarray::from_vector<int32_t>({-1}, {1}));
  require_message([&] { negative.wait_to_read(); }, errc::invalid_argument, {"row id -1"});
  // The key still serves.
  kv->push(1, rsp(4, 2, {2}));
  kv->row_sparse_pull(1, out, ndarray::from_vector<int64_t>({2}, {1}));
  REQUIRE(out.rows().to_vector<float>() == std::vector<float>{20, 21});
}

// Random row_sparse and dense pushes and row_sparse_pulls of one key, from
// several devices, against a sequential model (the test optimizer: w += g;
// small integers, so every sum is exact).
TEST_CASE("random sparse and dense pushes and row_sparse pulls match a sequential model", "[store][sparse]") {
  for (auto type : in_process) {
    INFO(type);
    std::mt19937 rng(12);
    const int64_t rows = 40, cols = 3;
    auto kv = create(type, test_config());
    kv->init(9, ndarray::row_sparse({rows, cols}, {}, ndarray::zeros({0, cols})));
    kv->set_optimizer(create_optimizer("test", {{"rescale_grad", 1.0}}));
    std::vector<float> model(static_cast<size_t>(rows * cols), 0.0f);
    std::vector<std::pair<ndarray, std::vector<float>>> pending;  // outputs and what they must hold
    auto random_ids = [&](size_t most) {
      std::set<int64_t> s;
      size_t n = rng() % (most + 1);
      while (s.size() < n)
        s.insert(static_cast<int64_t>(rng() % rows));
      return std::vector<int64_t>(s.begin(), s.end());
    };
    for (int step = 0; step < 300; ++step) {
      int what = static_cast<int>(rng() % 3);
      if (what == 0) {  // a sparse push from 1-3 devices
        std::vector<ndarray> vals;
        int devices = 1 + static_cast<int>(rng() % 3);
        for (int d = 0; d < devices; ++d) {
          auto ids = random_ids(6);
          auto base = static_cast<float>(rng() % 5);
          vals.push_back(rsp(rows, cols, ids, base, cpu(d)));
          auto add = dense_of(rows, cols, ids, base);
          for (size_t i = 0; i < model.size(); ++i)
            model[i] += add[i];
        }
        kv->push(9, vals);
      } else if (what == 1) {  // a dense push
        auto v = static_cast<float>(rng() % 3);
        kv->push(9, ndarray::full({rows, cols}, v));
        for (auto& x : model)
          x += v;
      } else {  // a pull of random rows, with duplicates
        auto ids = random_ids(8);
        auto with_dups = ids;
        if (!ids.empty())
          with_dups.push_back(ids.front());
        std::reverse(with_dups.begin(), with_dups.end());
        auto out = empty_rsp(rows, cols);
        kv->row_sparse_pull(9, out, ndarray::from_vector(with_dups, {static_cast<int64_t>(with_dups.size())}));
        std::vector<float> want(model.size(), 0.0f);
        for (auto r : ids)
          for (int64_t c = 0; c < cols; ++c)
            want[static_cast<size_t>(r * cols + c)] = model[static_cast<size_t>(r * cols + c)];
        pending.emplace_back(out, want);
      }
    }
    for (auto& [out, want] : pending)
      REQUIRE(out.to_vector<float>() == want);
    auto all = ndarray::zeros({rows, cols});
    kv->pull(9, all);
    REQUIRE(all.to_vector<float>() == model);
  }
}
