// Every wait is bounded and named: a dead scheduler, a node that never
// registers, a barrier a worker never reaches, an updater that never
// returns. Short timeouts; each case checks the error, the log and the time.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <future>

#include "local_cluster.hpp"

using namespace kvs;
using namespace std::chrono;

namespace {

// The error `call` throws, as "code: message", or "no error".
std::string outcome_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const kvs::error& e) {
    return std::string(to_string(e.code())) + ": " + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "no error";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a scheduler whose cluster never completes exits naming the missing nodes",
          "[dist][failure]") {
  local_cluster cluster{2, 1};
  cluster.settings = [](config& c) {
    c.startup_timeout = milliseconds(1500);
    c.stall_warning = milliseconds(400);
  };
  cerr_capture log;
  std::string scheduler, server, worker;
  auto t0 = steady_clock::now();
  std::thread s([&] { scheduler = outcome_of([&] { serve(cluster.node("scheduler")); }); });
  std::thread v([&] { server = outcome_of([&] { serve(cluster.node("server")); }); });
  // Only one of the two workers ever starts.
  worker = outcome_of([&] { create("dist_sync", cluster.node("worker")); });
  s.join();
  v.join();
  auto took = steady_clock::now() - t0;
  auto missing = "workers: 1 of 2 registered (rank 1 missing); servers: 1 of 1 registered";
  INFO(log.text());
  for (auto* outcome : {&scheduler, &server, &worker}) {
    INFO(*outcome);
    REQUIRE(outcome->rfind("timeout: ", 0) == 0);
    REQUIRE(has(*outcome, missing));
  }
  REQUIRE(has(scheduler, "startup_timeout"));
  REQUIRE(log.lines_with(std::string("kvs scheduler: waiting")) >= 2);
  REQUIRE(log.lines_with(missing) >= 2);
  REQUIRE(took < seconds(6));
}

TEST_CASE("a barrier that a worker never reaches is logged and fails naming its rank",
          "[dist][failure]") {
  local_cluster cluster{2, 1};
  cluster.settings = [](config& c) {
    c.barrier_timeout = milliseconds(1500);
    c.stall_warning = milliseconds(400);
  };
  cerr_capture log;
  std::promise<void> failed;
  auto failed_f = failed.get_future().share();
  std::string seen;
  milliseconds took{0};
  cluster.run("dist_sync", [&](kvstore& kv) {
    if (kv.rank() == 1) {  // never comes to the barrier; leaves once it failed
      failed_f.wait();
      return;
    }
    auto t0 = steady_clock::now();
    seen = outcome_of([&] { kv.barrier(); });
    took = duration_cast<milliseconds>(steady_clock::now() - t0);
    failed.set_value();
  });
  INFO(seen << "\n" << log.text());
  REQUIRE(seen.rfind("timeout: barrier: worker rank 1 did not arrive within 1500 ms", 0) == 0);
  REQUIRE(has(seen, "1 of 2 arrived"));
  REQUIRE(log.lines_with("a barrier has waited") >= 2);
  REQUIRE(log.lines_with("for worker rank 1 (1 of 2 arrived)") >= 2);
  REQUIRE(took >= milliseconds(1400));
  REQUIRE(took < milliseconds(4000));
}

TEST_CASE("a killed scheduler ends the job: workers fail naming it, the server exits saying why",
          "[dist][failure]") {
  local_cluster cluster{2, 1};
  pid_t scheduler = fork_node([&] { serve(cluster.node("scheduler")); });
  cerr_capture log;
  std::string server_outcome;
  steady_clock::time_point kill_time, server_end;
  std::thread server([&] {
    server_outcome = outcome_of([&] { serve(cluster.node("server")); });
    server_end = steady_clock::now();
  });
  std::promise<void> waiting, killed;
  auto killed_f = killed.get_future().share();
  std::mutex mtx;
  std::vector<std::string> seen;  // what each call after the kill threw
  auto note = [&](const std::string& s) {
    std::lock_guard<std::mutex> lock{mtx};
    seen.push_back(s);
  };
  milliseconds barrier_took{0};
  std::string pending_push;
  auto worker = [&] {
    auto kv = create("dist_sync", cluster.node("worker"));
    kv->init(1, ndarray::zeros({4}));
    auto out = ndarray::zeros({4});
    if (kv->rank() == 0) {
      kv->pushpull(1, ndarray::full({4}, 1.0), out);  // its round waits for rank 1
      waiting.set_value();
      note(outcome_of([&] { kv->barrier(); }));  // rank 1 never comes: pending at the kill
      barrier_took = duration_cast<milliseconds>(steady_clock::now() - kill_time);
      pending_push = outcome_of([&] { out.wait_to_read(); });
    } else {
      killed_f.wait();
      note(outcome_of([&] { kv->barrier(); }));
      note(outcome_of([&] { kv->send_command_to_servers(3, "1"); }));
    }
    note(outcome_of([&] { kv->push(1, ndarray::full({4}, 1.0)); }));
    note(outcome_of([&] { kv->set_optimizer(create_optimizer("sgd")); }));
  };
  std::thread w0(worker), w1(worker);
  waiting.get_future().wait();
  std::this_thread::sleep_for(milliseconds(300));  // rank 0 is in the barrier
  kill_time = steady_clock::now();
  kill(scheduler, SIGKILL);
  waitpid(scheduler, nullptr, 0);
  killed.set_value();
  w0.join();
  w1.join();
  server.join();
  auto name = "the scheduler (127.0.0.1:" + std::to_string(cluster.port) + ") is down";
  INFO(log.text());
  REQUIRE(seen.size() == 7);  // rank 0: 3 calls, rank 1: 4
  for (auto& s : seen) {
    INFO(s);
    REQUIRE(s.rfind("peer_down: ", 0) == 0);
    REQUIRE(has(s, name));
  }
  INFO(pending_push);
  REQUIRE(pending_push.rfind("peer_down: ", 0) == 0);  // its server has gone with the job
  REQUIRE(barrier_took < milliseconds(3000));
  INFO(server_outcome);
  REQUIRE(server_outcome.rfind("peer_down: server: " + name, 0) == 0);
  REQUIRE(log.lines_with("kvs server: " + name) == 1);
  REQUIRE(server_end - kill_time < milliseconds(4000));
}

TEST_CASE("a store whose updater never returns is destroyed within the request timeout",
          "[store][failure]") {
  auto cfg = test_config();
  cfg.request_timeout = milliseconds(500);
  std::promise<void> release, entered;
  auto released = release.get_future().share();
  cerr_capture log;
  auto kv = create("local", cfg);
  kv->init(0, ndarray::zeros({4}));
  kv->set_updater([released, &entered](const key&, const ndarray&, ndarray&) {
    entered.set_value();
    released.wait();  // stuck until the test ends
  });
  auto out = ndarray::zeros({4});
  kv->pushpull(0, ndarray::full({4}, 1.0), out);
  entered.get_future().wait();
  auto t0 = steady_clock::now();
  kv.reset();
  auto took = steady_clock::now() - t0;
  release.set_value();  // the updater left behind returns and ends
  INFO(log.text());
  REQUIRE(took < seconds(4));
  REQUIRE(log.lines_with("still run 500 ms after it was destroyed; leaving them behind") == 1);
  REQUIRE_KVS_ERROR(out.wait_to_read(), errc::timeout);
}

TEST_CASE("a frozen scheduler is declared down after the heartbeat timeout", "[dist][failure]") {
  local_cluster cluster{1, 1};  // heartbeat every 200 ms
  cluster.settings = [](config& c) { c.heartbeat_timeout = milliseconds(2000); };
  pid_t scheduler = fork_node([&] { serve(cluster.node("scheduler")); });
  cerr_capture log;
  std::string server_outcome, barrier;
  std::thread server([&] { server_outcome = outcome_of([&] { serve(cluster.node("server")); }); });
  milliseconds took{0};
  {
    auto kv = create("dist_sync", cluster.node("worker"));
    kv->init(1, ndarray::zeros({4}));
    kill(scheduler, SIGSTOP);
    int status = 0;
    waitpid(scheduler, &status, WUNTRACED);  // stopped now, not just signalled
    auto t0 = steady_clock::now();
    barrier = outcome_of([&] { kv->barrier(); });
    took = duration_cast<milliseconds>(steady_clock::now() - t0);
  }
  server.join();
  kill(scheduler, SIGKILL);
  waitpid(scheduler, nullptr, 0);
  auto name = "the scheduler (127.0.0.1:" + std::to_string(cluster.port) + ") is down";
  INFO(barrier << "\n" << server_outcome << "\n" << log.text());
  REQUIRE(barrier == "peer_down: barrier: " + name);
  REQUIRE(took < milliseconds(6000));
  REQUIRE(server_outcome.rfind("peer_down: server: " + name, 0) == 0);
}
