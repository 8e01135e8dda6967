// Restart from a checkpoint inside one process: a dist_sync job (2 workers,
// 2 servers, adam, keys split across servers) saves its weights and
// optimizer states after N steps; a new job loads both and runs M more
// steps; its weights equal an uninterrupted run's of N + M steps, bit for
// bit. (tests/CMakeLists.txt runs the same through kvs-launch.)
#include <catch2/catch.hpp>

#include <cstdio>
#include <unistd.h>

#include "checkpoint.hpp"
#include "local_cluster.hpp"

using namespace kvs;
using weights = std::vector<std::vector<float>>;

namespace {

constexpr int n_steps = 3, m_steps = 3;

local_cluster job() {
  local_cluster c{2, 2};
  c.settings = [](config& cfg) { cfg.bigarray_bound = checkpoint::bigarray_bound; };
  return c;
}

// Runs a job: init (rank 0's values win), `prepare`, steps first..last;
// returns rank 0's pulled weights.
weights run_job(const weights& start, const std::function<void(kvstore&)>& prepare, int first,
                int last, const std::function<void(kvstore&)>& after = {}) {
  weights out;
  job().run("dist_sync", [&](kvstore& kv) {
    kv.init(checkpoint::keys(), checkpoint::as_arrays(start));
    kv.set_optimizer(checkpoint::adam());
    if (prepare)
      prepare(kv);
    checkpoint::run_steps(kv, first, last);
    auto w = checkpoint::pull_weights(kv);
    if (kv.rank() == 0) {
      out = w;
      if (after)
        after(kv);
    }
    kv.barrier();
  });
  return out;
}

weights start_weights() {
  weights w;
  for (auto& a : checkpoint::starting_weights())
    w.push_back(a.to_vector<float>());
  return w;
}

}  // namespace

TEST_CASE("a dist_sync job restarted from saved weights and adam states (split keys) matches an "
          "uninterrupted run bit for bit",
          "[dist][checkpoint]") {
  std::string states = "/tmp/kvs_restart_test_" + std::to_string(::getpid()) + ".states";
  auto straight = run_job(start_weights(), {}, 1, n_steps + m_steps);
  auto saved = run_job(start_weights(), {}, 1, n_steps,
                       [&](kvstore& kv) { kv.save_optimizer_states(states, true); });
  auto resumed = run_job(saved, [&](kvstore& kv) { kv.load_optimizer_states(states); },
                         n_steps + 1, n_steps + m_steps);
  // Without the states adam starts over: the check can tell.
  auto fresh = run_job(saved, {}, n_steps + 1, n_steps + m_steps);
  std::remove(states.c_str());
  REQUIRE(straight.size() == 3);
  REQUIRE(saved != straight);
  REQUIRE(checkpoint::hash(resumed) == checkpoint::hash(straight));
  REQUIRE(resumed == straight);  // every float, exactly
  REQUIRE(fresh != straight);
}

TEST_CASE("load_optimizer_states refuses a file whose parts do not fit the store's split",
          "[dist][checkpoint]") {
  std::string states = "/tmp/kvs_restart_parts_" + std::to_string(::getpid()) + ".states";
  run_job(start_weights(), {}, 1, 1, [&](kvstore& kv) { kv.save_optimizer_states(states); });
  // The same keys kept whole (a bound above every key): part 1 has no home.
  local_cluster whole{1, 2};
  whole.settings = [](config& cfg) { cfg.bigarray_bound = 1000000; };
  whole.run("dist_sync", [&](kvstore& kv) {
    kv.init(checkpoint::keys(), checkpoint::starting_weights());
    kv.set_optimizer(checkpoint::adam());
    expect_error([&] { kv.load_optimizer_states(states); }, errc::invalid_argument,
                 {"the file has part 1 of key", "this store keeps it in 1 part(s)"});
  });
  std::remove(states.c_str());
}
