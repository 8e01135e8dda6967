// dist_sync rounds of several workers' row_sparse pushes, summed straight
// into the optimizer's row_sparse gradient (actors/round_rows.cpp), with no
// dense merge buffer: values exact against a sequential model, bits equal to
// a local store given the rows summed as the merge buffer summed them (0 +
// each push's row, in order), and a round that mixes a dense push with row
// pushes summed densely as before. A table of 11 x 3 split by rows across 2
// servers (a bound of 20 elements).
#include <cstring>
#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "lazy_sgd_model.hpp"
#include "local_cluster.hpp"

using namespace kvs;

using namespace lazy_sgd_model;

namespace {

std::vector<float> pulled(kvstore& kv) {
  auto out = ndarray::zeros({rows, cols});
  kv.pull(3, out);
  return out.to_vector<float>();
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("dist_sync sums 3 workers' overlapping, disjoint and empty row pushes into lazy sgd's gradient", "[dist][sparse][optimizer]") {
  local_cluster cluster{3, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 20; };
  cluster.run("dist_sync", [](kvstore& kv) {
    init_lazy_sgd(kv);
    // Each worker's gradient its own power of two, so every row's sum says
    // which pushes reached it. Round 1: row 4 from ranks 0 and 1, rows on
    // both servers, rank 2 empty; round 2: one worker's rows only; round 3:
    // every push empty; round 4: every worker row 6.
    const float g = static_cast<float>(1 << kv.rank());
    std::vector<std::vector<std::vector<int64_t>>> by_round = {
        {{0, 4, 8}, {4, 9}, {}}, {{}, {}, {1, 10}}, {{}, {}, {}}, {{6}, {2, 6}, {6, 7}}};
    uint64_t mine = 0;
    for (auto& round : by_round) {
      auto& ids = round[static_cast<size_t>(kv.rank())];
      kv.push(3, rsp(ids, g));
      mine += ids.size();
    }
    std::vector<float> model(rows * cols, 2.0f);
    step(model, {0, 8}, 1);
    step(model, {4}, 1 + 2);
    step(model, {9}, 2);
    step(model, {1, 10}, 4);
    step(model, {6}, 1 + 2 + 4);
    step(model, {2}, 2);
    step(model, {7}, 4);
    EXPECT(pulled(kv) == model);
    EXPECT(rows_handed_over(kv) == mine);  // every pushed row, without the merge buffer
    kv.barrier();
  });
}

namespace {

// Two workers' row pushes over 3 rounds, values of every sign in rows that
// overlap and rows that do not, and -0 in a row of each worker's that the
// other does not push (0 + -0 is +0: sgd without momentum turns a weight of
// -0 into +0 with a gradient of -0, and leaves it with +0); rank 0 then replays the
// rounds in a local store, pushing each round's rows summed as the servers'
// merge buffer summed them (0 + rank 0's row + rank 1's row), and expects
// the same bits.
struct pushes {
  std::vector<int64_t> ids;
  std::vector<float> values;  // ids.size() x cols
};

pushes of(int rank, int round) {
  std::vector<int64_t> ids = rank == 0 ? std::vector<int64_t>{0, 3, 5, 9}
                                       : std::vector<int64_t>{1, 3, 9, 10};
  if (round == 2)
    ids = rank == 0 ? std::vector<int64_t>{} : std::vector<int64_t>{2, 5};
  pushes p{ids, {}};
  for (size_t i = 0; i < ids.size(); ++i)
    for (int64_t c = 0; c < cols; ++c)
      p.values.push_back((ids[i] == 5 || ids[i] == 10) && c == 0 ? -0.0f  // 0 + -0 is +0
                                               : 0.1f * static_cast<float>(ids[i] + 1) *
                                                     static_cast<float>((rank + 1) * (c - 1) + round));
  return p;
}

ndarray as_array(const pushes& p) {
  auto n = static_cast<int64_t>(p.ids.size());
  return ndarray::row_sparse({rows, cols}, p.ids, ndarray::from_vector(p.values, {n, cols}));
}

// Each round's sum as the merge buffer made it: each row 0, then + each push's.
pushes summed(int round) {
  std::map<int64_t, std::vector<float>> sum;
  for (int rank = 0; rank < 2; ++rank) {
    auto p = of(rank, round);
    for (size_t i = 0; i < p.ids.size(); ++i) {
      auto& row = sum.try_emplace(p.ids[i], std::vector<float>(cols, 0.0f)).first->second;
      for (int64_t c = 0; c < cols; ++c)
        row[static_cast<size_t>(c)] += p.values[i * cols + static_cast<size_t>(c)];
    }
  }
  pushes out;
  for (auto& [id, row] : sum) {
    out.ids.push_back(id);
    out.values.insert(out.values.end(), row.begin(), row.end());
  }
  return out;
}

void replayed_bits(const std::string& name, const std::map<std::string, double>& numbers) {
  std::vector<float> start_values(rows * cols, 0.25f);
  for (auto r : {5, 10})
    start_values[static_cast<size_t>(r * cols)] = -0.0f;
  auto start = ndarray::from_vector(start_values, {rows, cols});
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 20; };
  cluster.run("dist_sync", [&](kvstore& kv) {
    kv.init(3, ndarray::row_sparse({rows, cols}, all_rows(), start.copy_to(cpu())));
    kv.set_optimizer(create_optimizer(name, numbers));
    for (int round = 0; round < 3; ++round)
      kv.push(3, as_array(of(kv.rank(), round)));
    auto dist = pulled(kv);
    if (kv.rank() == 0) {
      auto local = create("local");
      local->init(3, ndarray::row_sparse({rows, cols}, all_rows(), start.copy_to(cpu())));
      local->set_optimizer(create_optimizer(name, numbers));
      for (int round = 0; round < 3; ++round)
        local->push(3, as_array(summed(round)));
      EXPECT(same_bits(dist, pulled(*local)));
      EXPECT(rows_handed_over(kv) == 4 + 4);  // round 2: none from rank 0
    }
    kv.barrier();
  });
}

}  // namespace

TEST_CASE("dist_sync rounds of 2 workers' row pushes give lazy sgd the bits a local replay of their sums gets", "[dist][sparse][optimizer]") {
  replayed_bits("sgd", {{"learning_rate", 0.5}, {"wd", 0.0}});
}

TEST_CASE("dist_sync rounds of 2 workers' row pushes give lazy sgd with momentum the bits a local replay of their sums gets", "[dist][sparse][optimizer]") {
  replayed_bits("sgd", {{"learning_rate", 0.5}, {"wd", 0.25}, {"momentum", 0.9}});
}

TEST_CASE("dist_sync rounds of 2 workers' row pushes give lazy adam the bits a local replay of their sums gets", "[dist][sparse][optimizer]") {
  replayed_bits("adam", {{"learning_rate", 0.1}, {"wd", 0.01}});
}

TEST_CASE("a dist_sync round of a dense push and a row push sums both densely for sgd", "[dist][sparse][optimizer]") {
  local_cluster cluster{2, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 20; };
  cluster.run("dist_sync", [](kvstore& kv) {
    init_lazy_sgd(kv);
    // Round 1 the row push goes first (held, then summed into the merge
    // buffer when the dense one comes), round 2 the dense one: a round with a
    // dense push updates every row (no lazy rows) with the sum.
    for (int round = 0; round < 2; ++round) {
      bool rows_first = round == 0;
      bool pushes_rows = kv.rank() == 0;
      if (pushes_rows != rows_first)
        kv.barrier();
      if (pushes_rows)
        kv.push(3, rsp({2, 8}, 1));
      else
        kv.push(3, ndarray::full({rows, cols}, 2.0));
      if (pushes_rows == rows_first)
        kv.barrier();
    }
    std::vector<float> model(rows * cols, 2.0f);
    for (int round = 0; round < 2; ++round) {
      step(model, {2, 8}, 1 + 2);
      step(model, {0, 1, 3, 4, 5, 6, 7, 9, 10}, 2);
    }
    EXPECT(pulled(kv) == model);
    EXPECT(rows_handed_over(kv) == 0);
    kv.barrier();
  });
}

// The held row pushes are summed in the order they came, not by rank: ranks
// push row 1 in the order 2, 0, 1 (300 ms apart) the values 1e8, -1e8, 1.
// In that order the float sum is exactly 1; by rank (-1e8 + 1 rounds to
// -1e8) or in reverse it is 0.
TEST_CASE("dist_sync sums held row pushes in the order they arrived", "[dist][sparse][optimizer]") {
  local_cluster cluster{3, 2};
  cluster.settings = [](config& c) { c.bigarray_bound = 20; };
  cluster.run("dist_sync", [](kvstore& kv) {
    init_lazy_sgd(kv);
    kv.barrier();
    const int turn[] = {1, 2, 0};  // rank -> place in the arrival order
    const float value[] = {-1e8f, 1.0f, 1e8f};
    std::this_thread::sleep_for(std::chrono::milliseconds(300 * turn[kv.rank()]));
    kv.push(3, rsp({1}, value[kv.rank()]));
    std::vector<float> model(rows * cols, 2.0f);
    step(model, {1}, 1.0f);
    EXPECT(pulled(kv) == model);
    EXPECT(rows_handed_over(kv) == 1);
    kv.barrier();
  });
}
