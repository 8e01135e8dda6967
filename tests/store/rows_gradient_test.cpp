// Which route a row_sparse push took to the optimizer, seen through
// stats(): a round of one row_sparse push hands its rows to a built-in lazy
// optimizer as they are (key_stats::sparse_gradient_rows counts them), any
// other round goes through the dense merge buffer (counted 0). Both routes
// give the same numbers, so each case also checks the values exactly
// against a sequential reference.
#include <catch2/catch.hpp>

#include <future>
#include <map>

#include "../test_config.hpp"

using namespace kvs;

namespace {

constexpr int64_t rows = 8, cols = 3;

// Rows `ids` of a gradient, row r holding r + c / 4 + step (c the column).
std::vector<float> grad_rows(const std::vector<int64_t>& ids, int step) {
  std::vector<float> v;
  for (auto r : ids)
    for (int64_t c = 0; c < cols; ++c)
      v.push_back(static_cast<float>(r) + static_cast<float>(c) / 4 + static_cast<float>(step));
  return v;
}

ndarray rsp(const std::vector<int64_t>& ids, int step, device d = cpu()) {
  auto n = static_cast<int64_t>(ids.size());
  return ndarray::row_sparse({rows, cols}, ids,
                             ndarray::from_vector(grad_rows(ids, step), {n, cols}, d));
}

// The same gradient, dense (zero outside `ids`).
std::vector<float> dense_grad(const std::vector<int64_t>& ids, int step) {
  std::vector<float> g(rows * cols, 0.0f);
  auto v = grad_rows(ids, step);
  for (size_t i = 0; i < ids.size(); ++i)
    for (int64_t c = 0; c < cols; ++c)
      g[static_cast<size_t>(ids[i] * cols + c)] += v[i * cols + static_cast<size_t>(c)];
  return g;
}

std::vector<int64_t> all_rows() {
  std::vector<int64_t> ids;
  for (int64_t r = 0; r < rows; ++r)
    ids.push_back(r);
  return ids;
}

// The rows a push of key 0 handed over as they were (0 if key 0 is unknown).
uint64_t rows_handed_over(const kvstore& kv) {
  for (auto& [k, s] : kv.stats().keys)
    if (k == key(0))
      return s.sparse_gradient_rows;
  return 0;
}

// The steps every case runs: rows pushed in each round.
const std::vector<std::vector<int64_t>> steps = {{1, 4}, {0, 4, 7}, {4}};

// The reference: `opt` applied on host arrays, one round after another, to
// the dense gradient of each round and its rows (lazy: only those).
std::vector<float> reference(const optimizer& opt,
                             const std::vector<std::vector<int64_t>>& rounds,
                             const std::vector<std::vector<float>>& grads) {
  auto w = ndarray::full({rows, cols}, 2.0);
  std::vector<ndarray> state;
  for (uint32_t i = 0; i < opt.state_arrays(); ++i)
    state.push_back(ndarray::zeros({rows, cols}));
  for (size_t t = 0; t < rounds.size(); ++t)
    opt.update(ndarray::from_vector(grads[t], {rows, cols}), w, state, t + 1, &rounds[t]);
  return w.to_vector<float>();
}

std::shared_ptr<optimizer> make(const std::string& name, double lazy) {
  std::map<std::string, double> n{{"learning_rate", 0.5}, {"wd", 0.5}, {"lazy_update", lazy}};
  if (name == "adam")
    n["learning_rate"] = 0.125;
  return create_optimizer(name, n);
}

std::vector<float> pulled(kvstore& kv) {
  auto out = ndarray::zeros({rows, cols});
  kv.pull(0, out);
  return out.to_vector<float>();
}

}  // namespace

TEST_CASE("a local store hands each round's pushed rows to lazy sgd and adam as they are", "[store][sparse][optimizer]") {
  for (std::string name : {"sgd", "adam"}) {
    INFO(name);
    auto kv = create("local", test_config());
    kv->init(0, ndarray::full({rows, cols}, 2.0));
    kv->set_optimizer(make(name, 1));
    std::vector<std::vector<float>> grads;
    uint64_t pushed = 0;
    for (size_t t = 0; t < steps.size(); ++t) {
      kv->push(0, rsp(steps[t], static_cast<int>(t)));
      grads.push_back(dense_grad(steps[t], static_cast<int>(t)));
      pushed += steps[t].size();
    }
    REQUIRE(pulled(*kv) == reference(*make(name, 1), steps, grads));
    REQUIRE(rows_handed_over(*kv) == pushed);
  }
}

TEST_CASE("without lazy_update or with a dense push the round goes through the dense buffer", "[store][sparse][optimizer]") {
  SECTION("lazy_update = 0: every row is updated from the dense sum") {
    auto kv = create("local", test_config());
    kv->init(0, ndarray::full({rows, cols}, 2.0));
    kv->set_optimizer(make("sgd", 0));
    std::vector<std::vector<float>> grads;
    std::vector<std::vector<int64_t>> every(steps.size(), all_rows());
    for (size_t t = 0; t < steps.size(); ++t) {
      kv->push(0, rsp(steps[t], static_cast<int>(t)));
      grads.push_back(dense_grad(steps[t], static_cast<int>(t)));
    }
    REQUIRE(pulled(*kv) == reference(*make("sgd", 0), every, grads));
    REQUIRE(rows_handed_over(*kv) == 0);
  }
  SECTION("a dense array among the devices' pushes makes the round's sum dense") {
    auto kv = create("device", test_config());
    kv->init(0, ndarray::full({rows, cols}, 2.0));
    kv->set_optimizer(make("sgd", 1));
    auto g = dense_grad({1, 4}, 0);
    for (auto& x : g)
      x += 1.0f;  // + the dense array of ones below
    kv->push(0, {rsp({1, 4}, 0), ndarray::full({rows, cols}, 1.0, dtype::f32, cpu(1))});
    // A dense gradient: lazy or not, every row is updated.
    REQUIRE(pulled(*kv) == reference(*make("sgd", 1), {all_rows()}, {g}));
    REQUIRE(rows_handed_over(*kv) == 0);
  }
}

TEST_CASE("a device store hands over the rows whether one device or several push them", "[store][sparse][optimizer]") {
  // The store sums the devices' row_sparse arrays into one set of rows (the
  // union of their ids) before the shard sees them, so every round is one
  // push of rows.
  auto kv = create("device", test_config());
  kv->init(0, ndarray::full({rows, cols}, 2.0));
  kv->set_optimizer(make("sgd", 1));
  // One device of three pushes.
  kv->push(0, rsp({1, 4}, 0, cpu(2)));
  std::vector<std::vector<int64_t>> rounds = {{1, 4}};
  std::vector<std::vector<float>> grads = {dense_grad({1, 4}, 0)};
  kv->wait_all();  // counted when the push has finished
  REQUIRE(rows_handed_over(*kv) == 2);
  // Three devices push, rows 4 from two of them: their union, 0 4 7, summed.
  kv->push(0, {rsp({0, 4}, 1, cpu(0)), rsp({4, 7}, 1, cpu(1)), rsp({}, 1, cpu(2))});
  auto g = dense_grad({0, 4}, 1), g2 = dense_grad({4, 7}, 1);
  for (size_t i = 0; i < g.size(); ++i)
    g[i] += g2[i];
  rounds.push_back({0, 4, 7});
  grads.push_back(g);
  REQUIRE(pulled(*kv) == reference(*make("sgd", 1), rounds, grads));
  REQUIRE(rows_handed_over(*kv) == 5);
}

TEST_CASE("writing a pushed row_sparse gradient's rows waits for the push, as writing the array does",
          "[store][sparse]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::zeros({rows, cols}));
  // The updater holds the round (and so the push) open until released, and
  // records the gradient it was given.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::vector<float> seen;
  kv->set_updater([&](const key&, const ndarray& recv, ndarray& stored) {
    seen = recv.to_vector<float>();
    released.wait();
    stored = recv;
  });
  auto vals = ndarray::from_vector(grad_rows({1, 4}, 0), {2, cols});
  kv->push(1, ndarray::row_sparse({rows, cols}, {1, 4}, vals));
  // The caller rewrites the rows through the array they came from: it must
  // wait until the push is done with them.
  auto writer = std::async(std::launch::async, [&] { vals.data<float>()[0] = 999.0f; });
  REQUIRE(writer.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  release.set_value();
  writer.get();
  kv->wait_all();
  REQUIRE(seen == dense_grad({1, 4}, 0));
}

TEST_CASE("pushing an array a row_sparse_pull is still writing leaves every rows buffer writable after",
          "[store][sparse]") {
  auto kv = create("local", test_config());
  kv->init(1, ndarray::row_sparse({rows, cols}, {0, 1, 2, 3, 4, 5, 6, 7},
                                  ndarray::from_vector(grad_rows({0, 1, 2, 3, 4, 5, 6, 7}, 0),
                                                       {rows, cols})));
  kv->init(2, ndarray::zeros({rows, cols}));
  // The pull replaces the array's rows buffer on the worker's thread while
  // the push of the same array is submitted: the marks the push takes must
  // end on the buffers they were taken on (else one stays read for good and
  // the next write waits until its timeout).
  for (int i = 0; i < 50; ++i) {
    auto vals = ndarray::from_vector(grad_rows({2, 5}, i), {2, cols});
    auto a = ndarray::row_sparse({rows, cols}, {2, 5}, vals);
    kv->row_sparse_pull(1, a, ndarray::from_vector(std::vector<int64_t>{1, 3, 6}, {3}));
    kv->push(2, a);
    kv->wait_all();
    vals.data<float>()[0] = 1.0f;   // the buffer the array was made from
    a.rows().data<float>()[0] = 1.0f;  // the one the pull put in
    REQUIRE(a.row_ids() == std::vector<int64_t>{1, 3, 6});
  }
}
