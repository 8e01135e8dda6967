// optimizer::update_and_copy_rows: the update of a row_sparse gradient with
// its rows of the weight written out in the same pass (a shard answering a
// pull of the pushed rows) leaves weight and state, and writes rows, bit for
// bit as update() followed by a gather of those rows; and refuses what it
// cannot write into.
#include <catch2/catch.hpp>

#include <random>

#include "kvs/error.hpp"
#include "kvs/optimizer.hpp"

using namespace kvs;

namespace {

template <class T>
ndarray random_array(std::mt19937& rng, kvs::shape s, dtype t) {
  std::uniform_real_distribution<double> d(-2, 2);
  size_t n = 1;
  for (auto x : s)
    n *= static_cast<size_t>(x);
  std::vector<T> v(n);
  for (auto& x : v)
    x = static_cast<T>(d(rng));
  auto a = ndarray::from_vector<T>(v, s);
  REQUIRE(a.dtype() == t);
  return a;
}

template <class T>
std::vector<T> rows_of(const ndarray& a, const std::vector<int64_t>& ids, int64_t cols) {
  auto all = a.template to_vector<T>();
  std::vector<T> out;
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c)
      out.push_back(all[static_cast<size_t>(r * cols + c)]);
  return out;
}

// Three rounds of the same pushes through both ways, from the same weight;
// every array compared exactly after each.
template <class T>
void same_bits(const std::string& name, std::map<std::string, double> numbers, dtype t) {
  auto opt = create_optimizer(name, numbers);
  std::mt19937 rng(7);
  const int64_t rows = 50, cols = 5;
  auto w0 = random_array<T>(rng, {rows, cols}, t);
  auto plain = w0.copy_to(cpu());
  auto fused = w0.copy_to(cpu());
  std::vector<ndarray> plain_state, fused_state;
  for (uint32_t i = 0; i < opt->state_arrays(); ++i) {
    plain_state.push_back(ndarray::zeros({rows, cols}, t));
    fused_state.push_back(ndarray::zeros({rows, cols}, t));
  }
  const std::vector<std::vector<int64_t>> rounds = {{0, 3, 7, 49}, {1, 2, 3}, {0, 49}};
  uint64_t t_count = 0;
  for (auto& ids : rounds) {
    ++t_count;
    auto n = static_cast<int64_t>(ids.size());
    auto grad = ndarray::row_sparse({rows, cols}, ids, random_array<T>(rng, {n, cols}, t));
    opt->update(grad, plain, plain_state, t_count);
    // The rows land after 2 rows of other data, as in a bigger buffer.
    auto out = ndarray::full({n + 3, cols}, -7.0, t);
    opt->update_and_copy_rows(grad, fused, fused_state, t_count, out, 2 * cols);
    REQUIRE(fused.template to_vector<T>() == plain.template to_vector<T>());
    for (size_t i = 0; i < plain_state.size(); ++i)
      REQUIRE(fused_state[i].template to_vector<T>() == plain_state[i].template to_vector<T>());
    auto got = out.template to_vector<T>();
    auto want = rows_of<T>(plain, ids, cols);
    REQUIRE(std::vector<T>(got.begin() + 2 * cols, got.begin() + 2 * cols + n * cols) == want);
    // Nothing outside the rows' place is written.
    for (int64_t i = 0; i < 2 * cols; ++i)
      REQUIRE(got[static_cast<size_t>(i)] == static_cast<T>(-7));
    for (auto i = static_cast<size_t>((2 + n) * cols); i < got.size(); ++i)
      REQUIRE(got[i] == static_cast<T>(-7));
  }
  REQUIRE(plain.template to_vector<T>() != w0.template to_vector<T>());
}

}  // namespace

TEST_CASE("an update that copies its rows out matches update and gather bit for bit: lazy sgd",
          "[optimizer][sparse]") {
  same_bits<float>("sgd", {{"learning_rate", 0.3}, {"wd", 0.01}}, dtype::f32);
  same_bits<float>("sgd", {{"learning_rate", 0.3}, {"momentum", 0.9}}, dtype::f32);
  same_bits<double>("sgd", {{"learning_rate", 0.3}, {"momentum", 0.9}}, dtype::f64);
}

TEST_CASE("an update that copies its rows out matches update and gather bit for bit: lazy adam",
          "[optimizer][sparse]") {
  same_bits<float>("adam", {{"learning_rate", 0.1}, {"lazy_update", 1}}, dtype::f32);
  same_bits<double>("adam", {{"learning_rate", 0.1}, {"lazy_update", 1}, {"wd", 0.1}}, dtype::f64);
}

TEST_CASE("an update that copies its rows out without a lazy rule gathers them after it",
          "[optimizer][sparse]") {
  // lazy_update off: every row is updated (the dense rule), and the rows are
  // still the ones the gradient brought.
  same_bits<float>("sgd", {{"learning_rate", 0.3}, {"wd", 0.1}, {"lazy_update", 0}}, dtype::f32);
  same_bits<float>("adam", {{"learning_rate", 0.1}, {"lazy_update", 0}}, dtype::f32);
}

TEST_CASE("an update that copies its rows out refuses a dense gradient and a too small output",
          "[optimizer][sparse]") {
  auto opt = create_optimizer("sgd", {{"learning_rate", 0.5}});
  auto w = ndarray::zeros({4, 3});
  std::vector<ndarray> state;
  auto out = ndarray::zeros({2, 3});
  auto dense = ndarray::full({4, 3}, 1.0);
  REQUIRE_THROWS_WITH(opt->update_and_copy_rows(dense, w, state, 1, out, 0),
                      Catch::Contains("row_sparse gradient"));
  auto grad = ndarray::row_sparse({4, 3}, {0, 1}, ndarray::full({2, 3}, 1.0));
  REQUIRE_THROWS_WITH(opt->update_and_copy_rows(grad, w, state, 1, out, 1),
                      Catch::Contains("do not fit"));
  REQUIRE_THROWS_WITH(opt->update_and_copy_rows(grad, w, state, 1, ndarray::zeros({2, 3}, dtype::f64), 0),
                      Catch::Contains("do not fit"));
  REQUIRE(w.to_vector<float>() == std::vector<float>(12, 0.0f));  // nothing updated
  opt->update_and_copy_rows(grad, w, state, 1, out, 0);
  REQUIRE(out.to_vector<float>() == std::vector<float>(6, -0.5f));
}
