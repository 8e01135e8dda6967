// Failures never hang: a node is a forked child process that dies by SIGKILL;
// the rest of the job runs in this process (one actor system per node).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "local_cluster.hpp"

using namespace kvs;
using namespace std::chrono;


TEST_CASE("a killed server fails the operations on its keys with peer_down, quickly",
          "[dist][failure]") {
  local_cluster cluster{1, 2};
  auto states_path = (std::filesystem::temp_directory_path() /
                      ("kvs_killed_server_" + std::to_string(getpid()) + ".states"))
                         .string();
  pid_t server = fork_node([&] { serve(cluster.node("server")); });
  std::promise<void> ready, killed;
  auto killed_f = killed.get_future().share();
  std::thread killer([&, f = ready.get_future()]() mutable {
    f.wait();
    kill(server, SIGKILL);
    waitpid(server, nullptr, 0);
    killed.set_value();
  });
  std::thread scheduler([&] { serve(cluster.node("scheduler")); });
  std::thread other_server([&] { serve(cluster.node("server")); });
  std::string outcome;
  try {
    auto kv = create("dist_sync", cluster.node("worker"));
    // Keys 1 and 2 live on different servers ((key * 9973) % 2).
    kv->init(std::vector<key>{1, 2}, {ndarray::zeros({4}), ndarray::zeros({4})});
    auto out = ndarray::zeros({4});
    kv->pushpull(1, ndarray::full({4}, 1.0), out);
    out.wait_to_read();
    // A state file of both servers, saved while they live, to load later.
    kv->set_optimizer(create_optimizer("sgd"));
    kv->save_optimizer_states(states_path);
    ready.set_value();
    killed_f.wait();
    auto t0 = steady_clock::now();
    int failed = 0, ok = 0;
    for (int k : {1, 2}) {
      try {
        kv->pushpull(k, ndarray::full({4}, 1.0), out);
        out.wait_to_read();
        ++ok;
      } catch (const kvs::error& e) {
        if (e.code() == errc::peer_down && std::string(e.what()).find("server") != std::string::npos)
          ++failed;
        else
          outcome = std::string("unexpected error: ") + e.what();
      }
    }
    auto took = duration_cast<milliseconds>(steady_clock::now() - t0).count();
    if (outcome.empty())
      outcome = "failed " + std::to_string(failed) + ", ok " + std::to_string(ok) + ", within " +
                (took < 5000 ? "5 s" : std::to_string(took) + " ms");
    try {
      kv->wait_all();  // reports the failure above once more
    } catch (const kvs::error&) {
    }
    // States come from (go to) every server: both fail at once naming the
    // dead one, without waiting for a timeout (no server gets a partial load).
    for (auto call : {"save_optimizer_states", "load_optimizer_states"}) {
      auto t1 = steady_clock::now();
      try {
        if (std::string(call) == "save_optimizer_states")
          kv->save_optimizer_states(states_path + ".after");
        else
          kv->load_optimizer_states(states_path);
        outcome += std::string("; ") + call + " succeeded";
      } catch (const kvs::error& e) {
        std::string what = e.what();
        auto ms = duration_cast<milliseconds>(steady_clock::now() - t1).count();
        bool named = e.code() == errc::peer_down && what.find(std::string(call) + ": server ") == 0 &&
                     what.find(" (127.0.0.1:") != std::string::npos &&
                     what.find(" is down") != std::string::npos;
        if (!named || ms >= 5000)
          outcome += std::string("; ") + call + " after " + std::to_string(ms) + " ms: " +
                     to_string(e.code()) + ": " + what;
      }
    }
    // A command needs every server: the scheduler names the dead one.
    try {
      kv->set_optimizer(create_optimizer("sgd"));
      outcome += "; set_optimizer succeeded";
    } catch (const kvs::error& e) {
      std::string what = e.what();
      bool named = e.code() == errc::peer_down && what.find("command 0 on server ") == 0 &&
                   what.find(" (127.0.0.1:") != std::string::npos &&
                   what.find(" is down") != std::string::npos;
      if (!named)
        outcome += std::string("; set_optimizer: ") + to_string(e.code()) + ": " + what;
    }
  } catch (const std::exception& e) {
    outcome = std::string("worker threw: ") + e.what();
  }
  killer.join();
  scheduler.join();
  other_server.join();
  std::filesystem::remove(states_path);
  std::filesystem::remove(states_path + ".after");
  REQUIRE(outcome == "failed 1, ok 1, within 5 s");
}

TEST_CASE("a killed worker fails the dist_sync rounds waiting for it, naming its rank",
          "[dist][failure]") {
  local_cluster cluster{2, 1};
  pid_t doomed = fork_node([&] {
    auto kv = create("dist_sync", cluster.node("worker"));
    kv->init(7, ndarray::zeros({4}));
    kv->barrier();
    raise(SIGKILL);
  });
  std::thread scheduler([&] { serve(cluster.node("scheduler")); });
  std::thread server([&] { serve(cluster.node("server")); });
  std::string outcome;
  int dead_rank = -1;
  try {
    auto kv = create("dist_sync", cluster.node("worker"));
    dead_rank = 1 - kv->rank();
    kv->init(7, ndarray::zeros({4}));
    kv->barrier();
    auto t0 = steady_clock::now();
    auto out = ndarray::zeros({4});
    kv->pushpull(7, ndarray::full({4}, 1.0), out);
    try {
      out.wait_to_read();
      outcome = "the round completed without the dead worker";
    } catch (const kvs::error& e) {
      auto took = duration_cast<milliseconds>(steady_clock::now() - t0).count();
      outcome = std::string(to_string(e.code())) + ": " + e.what() +
                (took < 5000 ? "" : " (too late: " + std::to_string(took) + " ms)");
    }
  } catch (const std::exception& e) {
    outcome = std::string("worker threw: ") + e.what();
  }
  waitpid(doomed, nullptr, 0);
  scheduler.join();
  server.join();
  INFO(outcome);
  REQUIRE(outcome.rfind("peer_down", 0) == 0);
  REQUIRE(outcome.find("worker rank " + std::to_string(dead_rank) + " is down") != std::string::npos);
  REQUIRE(outcome.find("too late") == std::string::npos);
}

TEST_CASE("a worker whose scheduler never appears fails with timeout", "[dist][failure]") {
  local_cluster cluster{1, 1};
  cluster.timeout = milliseconds(600);
  auto t0 = steady_clock::now();
  REQUIRE_KVS_ERROR(create("dist_sync", cluster.node("worker")), errc::timeout);
  REQUIRE(steady_clock::now() - t0 < seconds(5));
}

TEST_CASE("bad cluster settings are errors naming the variable", "[dist][failure]") {
  local_cluster cluster{1, 1};
  auto cfg = cluster.node("worker");
  cfg.num_servers = 0;
  require_message([&] { create("dist_sync", cfg); }, errc::invalid_config, {"DMLC_NUM_SERVER"});
  cfg = cluster.node("chef");
  require_message([&] { serve(cfg); }, errc::invalid_config, {"DMLC_ROLE", "chef"});
  cfg = cluster.node("worker");
  cfg.root_port = 0;
  require_message([&] { create("dist_async", cfg); }, errc::invalid_config, {"DMLC_PS_ROOT_PORT"});
  cfg = cluster.node("worker");
  require_message([&] { serve(cfg); }, errc::invalid_config, {"worker"});
}
