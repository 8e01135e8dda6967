// Random sequences of push, row_sparse_pull, pull and pushpull on a local
// store (rows pulled right behind pushes of them or of others, several
// pulls in a row, one or two devices or outputs, random priorities, ids
// out of range, updates that fail) issued without waiting, so that a pull
// may ride with its push (actors/key_shard.cpp, riders) or go alone as
// timing has it; every pulled value must be, bit for bit, what a replay of
// the same calls on a second store gives, waiting for each call before the
// next (no pull rides there). Failures must match too: an operation that
// fails in one fails in the other with the same code.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <random>
#include <stdexcept>

#include "../test_config.hpp"
#include "order_random.hpp"

using namespace kvs;

namespace {

constexpr int64_t table_rows = 48, cols = 4, dense_len = 8;
constexpr float poison = 7.0f;  // a gradient holding it makes the user's updater throw

enum class call { push_rows, pull_rows, push_dense, pull_dense, pushpull_dense, pull_table };

// One call, drawn once and made on each store with arrays of its own.
struct event {
  call kind = call::push_rows;
  int priority = 0;
  std::vector<std::vector<int64_t>> ids;  // per device (push) or per output (pull)
  std::vector<float> values;              // a push's first value (rows go up by 0.125)
};

ndarray rows_value(const std::vector<int64_t>& ids, float v, int device) {
  std::vector<float> data;
  for (size_t r = 0; r < ids.size(); ++r)
    for (int64_t c = 0; c < cols; ++c)
      data.push_back(v + 0.125f * static_cast<float>(r) + 0.0625f * static_cast<float>(c));
  auto n = static_cast<int64_t>(ids.size());
  auto rows = ndarray::from_vector<float>(data, {n, cols}).copy_to(cpu(device));
  return ndarray::row_sparse({table_rows, cols}, ids, rows);
}

ndarray empty_rows() {
  return ndarray::row_sparse({table_rows, cols}, {}, ndarray::zeros({0, cols}));
}

ndarray ids_array(const std::vector<int64_t>& ids) {
  return ndarray::from_vector<int64_t>(ids, {static_cast<int64_t>(ids.size())});
}

// Makes `e` on `kv`; the arrays it writes are appended to `outs`.
void make_call(kvstore& kv, const event& e, std::vector<ndarray>& outs) {
  switch (e.kind) {
    case call::push_rows: {
      std::vector<ndarray> devices;
      for (size_t d = 0; d < e.ids.size(); ++d)
        devices.push_back(rows_value(e.ids[d], e.values[d], static_cast<int>(d)));
      kv.push(0, devices, e.priority);
      return;
    }
    case call::pull_rows: {
      std::vector<ndarray> o, ids;
      for (auto& i : e.ids) {
        o.push_back(empty_rows());
        ids.push_back(ids_array(i));
      }
      kv.row_sparse_pull(0, o, ids, e.priority);
      outs.insert(outs.end(), o.begin(), o.end());
      return;
    }
    case call::push_dense:
      kv.push(1, ndarray::full({dense_len}, e.values[0]), e.priority);
      return;
    case call::pull_dense:
      outs.push_back(ndarray::zeros({dense_len}));
      kv.pull(1, outs.back(), e.priority);
      return;
    case call::pushpull_dense:
      outs.push_back(ndarray::zeros({dense_len}));
      kv.pushpull(1, ndarray::full({dense_len}, e.values[0]), outs.back(), e.priority);
      return;
    case call::pull_table:
      outs.push_back(ndarray::zeros({table_rows, cols}));
      kv.pull(0, outs.back(), e.priority);
      return;
  }
}

std::vector<int64_t> some_rows(std::mt19937_64& rng, bool may_be_bad) {
  std::vector<int64_t> ids;
  auto take = std::uniform_int_distribution<int>(0, 5)(rng);  // 1 in 6: ~half the rows
  for (int64_t r = 0; r < table_rows; ++r)
    if (std::uniform_int_distribution<int>(0, take == 0 ? 1 : 11)(rng) == 0)
      ids.push_back(r);
  if (may_be_bad && std::uniform_int_distribution<int>(0, 24)(rng) == 0)
    ids.push_back(table_rows + 2);  // fails the pull at the read, naming the id
  return ids;
}

float some_value(std::mt19937_64& rng) {
  static const float values[] = {0.25f, -0.5f, 1.0f, 1.5f, -2.0f, poison};
  return values[std::uniform_int_distribution<int>(0, 5)(rng)];
}

std::vector<event> draw(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<event> out;
  auto coin = [&](int in) { return std::uniform_int_distribution<int>(0, in - 1)(rng) == 0; };
  while (static_cast<int>(out.size()) < count) {
    event e;
    e.priority = std::uniform_int_distribution<int>(-2, 2)(rng);
    auto k = std::uniform_int_distribution<int>(0, 9)(rng);
    if (k < 5) {  // a push of rows, usually with a pull right behind it
      e.kind = call::push_rows;
      int devices = coin(4) ? 2 : 1;
      for (int d = 0; d < devices; ++d) {
        e.ids.push_back(some_rows(rng, false));
        e.values.push_back(some_value(rng));
      }
      out.push_back(e);
      for (int pulls = coin(3) ? 0 : 1 + coin(4); pulls > 0; --pulls) {
        event p;
        p.kind = call::pull_rows;
        p.priority = std::uniform_int_distribution<int>(-2, 2)(rng);
        bool same = devices == 1 && !coin(3);  // exactly the pushed rows: it may ride
        p.ids.push_back(same ? e.ids[0] : some_rows(rng, true));
        if (coin(5))
          p.ids.push_back(some_rows(rng, true));
        out.push_back(p);
      }
      continue;
    }
    e.kind = k == 5 ? call::pull_rows
           : k == 6 ? call::push_dense
           : k == 7 ? call::pull_dense
           : k == 8 ? call::pushpull_dense
                    : call::pull_table;
    if (e.kind == call::pull_rows)
      e.ids.push_back(some_rows(rng, true));
    e.values.push_back(some_value(rng));
    out.push_back(e);
  }
  return out;
}

struct outcome {
  bool ok = false;
  errc code = errc::invalid_argument;
  std::vector<float> values;
  std::vector<int64_t> ids;
};

outcome read(const ndarray& a) {
  outcome o;
  try {
    o.values = a.to_vector<float>();
    if (a.storage() == storage::row_sparse)
      o.ids = a.row_ids();
    o.ok = true;
  } catch (const kvs::error& e) {
    o.code = e.code();
  }
  return o;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A user's updater (sgd with 0.5, every row): a gradient holding the
// poison value makes it write half the weight, then throw.
void poisonable(const key&, const ndarray& grad, ndarray& stored) {
  auto g = grad.to_vector<float>();
  auto* w = stored.data<float>();
  bool poisoned = std::find(g.begin(), g.end(), poison) != g.end();
  for (size_t i = 0; i < (poisoned ? g.size() / 2 : g.size()); ++i)
    w[i] -= 0.5f * g[i];
  if (poisoned)
    throw std::runtime_error("a poisoned gradient");
}

auto make_store(bool user_updater, const std::string& timeline = "") {
  auto cfg = test_config();
  cfg.timeline = timeline;  // written when the store ends
  auto kv = create("local", cfg);
  std::vector<float> table;
  for (int64_t i = 0; i < table_rows * cols; ++i)
    table.push_back(0.5f + 0.25f * static_cast<float>(i % 13));
  kv->init(std::vector<key>{0, 1}, {ndarray::from_vector<float>(table, {table_rows, cols}),
                                    ndarray::full({dense_len}, 1.0)});
  if (user_updater)
    kv->set_updater(poisonable);
  else
    kv->set_optimizer(create_optimizer("adam", {{"learning_rate", 0.1}, {"lazy_update", 1}}));
  return kv;
}

}  // namespace

TEST_CASE("random pushes and row_sparse_pulls, riding with their pushes or not, answer bit for "
          "bit as a sequential replay of the same calls",
          "[sparse][store][optimizer]") {
  auto user_updater = GENERATE(false, true);
  auto seed = order::test_seed() + (user_updater ? 1 : 0);
  INFO((user_updater ? "a user's updater that throws on a poisoned gradient" : "lazy adam")
       << ", seed " << seed << " (KVS_TEST_SEED)");
  auto events = draw(seed, 400);
  // The lazy update writes the rows of a pull that rode with its push in its
  // own pass ("update+pull" on the timeline): the test must see some, else
  // it compared only pulls sent alone.
  std::string timeline = user_updater ? "" : "rider_random_test.json";
  std::remove("rider_random_test.json");
  auto kv = make_store(user_updater, timeline), replay = make_store(user_updater);
  std::vector<ndarray> got, want;
  for (auto& e : events)
    make_call(*kv, e, got);  // no wait: pulls may ride
  for (auto& e : events) {
    make_call(*replay, e, want);
    try {  // one call at a time: no pull rides
      replay->wait_all();
    } catch (const kvs::error&) {  // a failed update or pull: its outputs tell
    }
  }
  try {
    kv->wait_all();
  } catch (const kvs::error&) {
  }
  REQUIRE(got.size() == want.size());
  size_t failed = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    auto g = read(got[i]), w = read(want[i]);
    INFO("output " << i << " of " << got.size());
    REQUIRE(g.ok == w.ok);
    if (!w.ok) {
      ++failed;
      REQUIRE(g.code == w.code);
      continue;
    }
    REQUIRE(g.ids == w.ids);
    REQUIRE(same_bits(g.values, w.values));
  }
  auto table = [](kvstore& s) {
    auto out = ndarray::zeros({table_rows, cols});
    s.pull(0, out);
    return out.to_vector<float>();
  };
  REQUIRE(same_bits(table(*kv), table(*replay)));
  CHECK(failed < got.size() / 4);  // most pulls answered: the values were compared
  if (timeline.empty())
    return;  // a user's updater runs in its actor: no pass writes pulled rows
  kv.reset();
  std::ifstream in(timeline);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  std::remove(timeline.c_str());
  size_t rode = 0;
  for (auto at = text.str().find("\"update+pull\""); at != std::string::npos;
       at = text.str().find("\"update+pull\"", at + 1))
    ++rode;
  INFO(rode << " updates wrote the rows of a pull that rode with their push");
  CHECK(rode > 0);
}
