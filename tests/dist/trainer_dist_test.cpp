#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "../store/trainer_cases.hpp"
#include "local_cluster.hpp"

using namespace kvs;
using namespace trainer_cases;

namespace {

using weights = std::vector<std::vector<float>>;

// Three dist_sync steps of two workers with two devices each, through the
// trainer (mine) or by hand; the weights each rank ends with.
std::map<int, weights> run_job(bool on_store, bool with_trainer) {
  std::mutex mtx;
  std::map<int, weights> out;
  local_cluster cluster{2, 1};
  cluster.run("dist_sync", [&](kvstore& kv) {
    int rank = kv.rank();
    auto opt = create_optimizer("sgd", {{"learning_rate", 0.1}, {"momentum", 0.9}});
    auto params = make_params(2, rank);  // rank 0's values must win
    auto grads = make_grads(2);
    weights got;
    if (with_trainer) {
      trainer_options o;
      o.update_on_kvstore = on_store;
      trainer tr(kv, params, grads, opt, o);
      auto start = make_params(2, 0);
      for (size_t i = 0; i < params.size(); ++i)
        for (auto& w : params[i])
          EXPECT(w.to_vector<float>() == start[i][0].to_vector<float>());
      for (int t = 1; t <= 3; ++t) {
        fill_grads(grads, t, rank);
        tr.step();
        kv.wait_all();
      }
      got = values(params);
    } else {
      by_hand h{kv, params, grads, opt, on_store};
      h.init();
      for (int t = 1; t <= 3; ++t) {
        fill_grads(h.grads, t, rank);
        h.step();
        kv.wait_all();
      }
      got = values(h.params);
    }
    std::lock_guard<std::mutex> lock{mtx};
    out[rank] = got;
  });
  return out;
}

}  // namespace

TEST_CASE("a dist_sync trainer step with the optimizer on the servers equals Module's by hand",
          "[dist][trainer]") {
  auto mine = run_job(true, true);
  auto hand = run_job(true, false);
  REQUIRE(mine.size() == 2);
  REQUIRE(mine == hand);
  REQUIRE(mine[0] == mine[1]);  // every worker ends with the same weights
}

TEST_CASE("a dist_sync trainer step with device updates equals Module's by hand",
          "[dist][trainer]") {
  auto mine = run_job(false, true);
  auto hand = run_job(false, false);
  REQUIRE(mine.size() == 2);
  REQUIRE(mine == hand);
  REQUIRE(mine[0] == mine[1]);
}

TEST_CASE("dist_sync trainer states resume bit-exactly", "[dist][trainer]") {
  for (bool on_store : {true, false}) {
    std::mutex mtx;
    std::map<int, weights> full, resumed;
    std::map<int, lists> at_two;
    auto path = std::string("dist_trainer_states_") + (on_store ? "store" : "devices");
    auto opt = create_optimizer("adam", {{"learning_rate", 0.01}});
    trainer_options o;
    o.update_on_kvstore = on_store;
    local_cluster first{2, 1};
    first.run("dist_sync", [&](kvstore& kv) {
      auto params = make_params(2);
      auto grads = make_grads(2);
      trainer tr(kv, params, grads, opt, o);
      lists saved;
      for (int t = 1; t <= 4; ++t) {
        fill_grads(grads, t, kv.rank());
        tr.step();
        if (t == 2) {
          kv.wait_all();
          if (on_store ? kv.rank() == 0 : true)  // the servers' file, or each worker's own
            tr.save_states(path + (on_store ? "" : std::to_string(kv.rank())));
          for (auto& p : params) {
            saved.emplace_back();
            for (auto& w : p)
              saved.back().push_back(w.copy_to(w.device()));
          }
          kv.barrier();  // the file is complete before anyone goes on
        }
      }
      std::lock_guard<std::mutex> lock{mtx};
      full[kv.rank()] = values(params);
      at_two[kv.rank()] = saved;
    });
    local_cluster second{2, 1};
    second.run("dist_sync", [&](kvstore& kv) {
      lists params;
      {
        std::lock_guard<std::mutex> lock{mtx};
        params = at_two[kv.rank()];
      }
      auto grads = make_grads(2);
      trainer tr(kv, params, grads, opt, o);
      tr.load_states(path + (on_store ? "" : std::to_string(kv.rank())));
      for (int t = 3; t <= 4; ++t) {
        fill_grads(grads, t, kv.rank());
        tr.step();
      }
      auto got = values(params);
      std::lock_guard<std::mutex> lock{mtx};
      resumed[kv.rank()] = got;
    });
    INFO("update_on_kvstore " << on_store);
    REQUIRE(full.size() == 2);
    REQUIRE(resumed == full);
    std::remove(path.c_str());
    std::remove((path + "0").c_str());
    std::remove((path + "1").c_str());
  }
}
