// Arrays in the shared memory arena whose server stops answering or dies
// mid-pull (docs/distributed.md, "Arrays in shared memory"): the pull fails
// as any other (timeout, peer_down), and the range the server may still
// write is never handed out again. The server is a forked child process.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "core/shm_arena.hpp"
#include "local_cluster.hpp"

using namespace kvs;
using namespace std::chrono;

namespace {

constexpr int64_t elements = 100000;  // 400 KB: in the arena, pulled in place

uint64_t in_place_bytes(const kvstore& kv) { return kv.stats().total.shm_in_place_bytes; }

// Stops the server and waits until it is stopped, not just signalled: a
// thread still running could otherwise answer the next pull.
void freeze(pid_t server) {
  kill(server, SIGSTOP);
  int status = 0;
  waitpid(server, &status, WUNTRACED);
}

// The pull of an arena array into which its stopped server never answers:
// `stop` freezes the server (and may end it); returns the pull's error code.
template <class Stop>
std::string frozen_pull(milliseconds timeout, milliseconds late_after, Stop stop) {
  local_cluster cluster{1, 1};
  cluster.timeout = timeout;
  cluster.settings = [](config& c) { c.transport = "shm"; };
  pid_t server = fork_node([&] { serve(cluster.node("server")); });
  std::thread scheduler([&] { serve(cluster.node("scheduler")); });
  std::string outcome;
  try {
    auto kv = create("dist_sync", cluster.node("worker"));
    kv->init(1, ndarray::zeros({elements}));
    auto out = ndarray::zeros({elements});
    kv->pull(1, out);
    out.wait_to_read();
    if (in_place_bytes(*kv) != elements * 4u)
      outcome = "the first pull was not in place; ";
    auto& arena = detail::shm_arena::instance();
    auto kept = arena.kept_out_bytes();
    auto at = arena.offset_of(out.data<float>(), elements * 4);
    stop(server, [&] { kv->pull(1, out); });
    auto t0 = steady_clock::now();
    try {
      out.wait_to_read();
      outcome += "the pull succeeded";
    } catch (const kvs::error& e) {
      outcome += to_string(e.code());
      if (steady_clock::now() - t0 > late_after)
        outcome += " late";
    }
    if (arena.kept_out_bytes() < kept + elements * 4u)
      outcome += "; the output's range was not kept out";
    // The array ends; a new one of its size must not get its range.
    out = ndarray();
    auto again = ndarray::zeros({elements});
    auto now = arena.offset_of(again.data<float>(), elements * 4);
    if (!at || !now || (*now < *at + elements * 4 && *at < *now + elements * 4))
      outcome += "; the range was handed out again";
    kill(server, SIGKILL);
    waitpid(server, nullptr, 0);
  } catch (const std::exception& e) {
    outcome += std::string("; worker threw: ") + e.what();
    kill(server, SIGKILL);
    waitpid(server, nullptr, 0);
  }
  scheduler.join();
  return outcome;
}

}  // namespace

TEST_CASE("a pull into an arena array that times out fails, and its range is never reused",
          "[dist][shm][failure]") {
  // A request's own bound is a few request_timeouts (actors/wait_bounds.hpp).
  auto outcome = frozen_pull(milliseconds(2000), seconds(15), [](pid_t server, auto pull) {
    freeze(server);
    pull();
  });
  REQUIRE(outcome == "timeout");
}

TEST_CASE("a server killed mid-pull into an arena array fails it with peer_down, quickly, and "
          "its range is never reused",
          "[dist][shm][failure]") {
  auto outcome = frozen_pull(seconds(20), seconds(5), [](pid_t server, auto pull) {
    freeze(server);  // the pull waits in flight
    pull();
    std::this_thread::sleep_for(milliseconds(300));
    kill(server, SIGKILL);
  });
  REQUIRE(outcome == "peer_down");  // within 5 s, long before the 20 s timeout
}
