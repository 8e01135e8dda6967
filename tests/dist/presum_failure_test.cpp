// A worker whose pre-sum fails (the local sum of its per-device arrays, made
// before the push leaves the process) still takes its place in the round:
// every worker's push of that round fails at once naming the worker and the
// cause, instead of the others timing out, and the key's next round is
// exact (docs/distributed.md, "After a failed round").
//
// The failure is an allocation failure of the sum: the failing worker is a
// forked child in which the next host allocation of the sum's exact size
// fails (this file interposes aligned_alloc, which host arrays are
// allocated with; no other array of that size is allocated then).
#include <catch2/catch.hpp>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <iostream>

#include "local_cluster.hpp"

using namespace kvs;
using namespace std::chrono;

namespace {
// Bytes of the host allocation that fails once (0: none). Set in the child only.
std::atomic<size_t> fail_size{0};
}  // namespace

extern "C" void* aligned_alloc(size_t alignment, size_t size) {
  size_t armed = size;
  if (size != 0 && fail_size.compare_exchange_strong(armed, 0))
    return nullptr;
  return memalign(alignment, size);
}

namespace {

// Split across both servers (bigarray_bound 1000 below); an odd size no
// other array of the test has.
const int64_t elements = 300001;
const shape big{elements};

// How long `fn` took, in ms.
template <class F>
int64_t timed(F&& fn) {
  auto t0 = steady_clock::now();
  fn();
  return duration_cast<milliseconds>(steady_clock::now() - t0).count();
}

void expect_all(const ndarray& a, float v) {
  auto got = a.to_vector<float>();
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != v)
      throw std::runtime_error("element " + std::to_string(i) + " is " + std::to_string(got[i]) +
                               ", expected " + std::to_string(v));
}

// A round that completes: each worker pushes two arrays (1 + 2 here, 10 + 20
// in the child); stored = the sum of the four.
void next_round_is_exact(kvstore& kv, float a, float b) {
  auto out = ndarray::zeros(big);
  kv.pushpull(3, kvstore::array_list{ndarray::full(big, a), ndarray::full(big, b)}, kvstore::array_list{out});
  expect_all(out, 33.0f);
  auto small = ndarray::zeros({4});
  kv.pushpull(4, kvstore::array_list{ndarray::full({4}, a), ndarray::full({4}, b)}, kvstore::array_list{small});
  expect_all(small, 33.0f);
}

}  // namespace

TEST_CASE("dist_sync: a worker whose pre-sum fails still completes the round, failed for every "
          "worker naming it, and the next round is exact",
          "[dist][failure]") {
  local_cluster cluster{2, 2};  // 20 s request timeout: the failure must come long before
  cluster.settings = [](config& c) {
    c.bigarray_bound = 1000;
    // Host arrays from aligned_alloc (which this file fails), not from the
    // shared memory arena.
    c.shm_arena_bytes = 0;
  };
  pid_t child = fork();
  if (child == 0) {
    int code = 1;
    try {
      auto kv = create("dist_sync", cluster.node("worker"));
      auto init = ndarray::zeros(big);
      kv->init(std::vector<key>{3, 4}, {init, ndarray::zeros({4})});
      auto a = ndarray::full(big, 10.0), b = ndarray::full(big, 20.0), out = ndarray::zeros(big);
      kv->barrier();
      fail_size = (static_cast<size_t>(elements) * 4 + 63) / 64 * 64;  // the sum's buffer
      kv->pushpull(3, kvstore::array_list{a, b}, kvstore::array_list{out});
      expect_error([&] { out.wait_to_read(); }, errc::invalid_argument, {"cannot allocate"});
      EXPECT(fail_size == 0);  // the injected failure was the one seen
      kv->barrier();
      next_round_is_exact(*kv, 10.0f, 20.0f);
      code = 0;
    } catch (const std::exception& e) {
      std::cerr << "failing worker: " << e.what() << "\n";
    }
    _exit(code);
  }
  std::thread scheduler([&] { serve(cluster.node("scheduler")); });
  std::thread server0([&] { serve(cluster.node("server")); });
  std::thread server1([&] { serve(cluster.node("server")); });
  std::string outcome = "ok";
  try {
    auto kv = create("dist_sync", cluster.node("worker"));
    kv->init(std::vector<key>{3, 4}, {ndarray::zeros(big), ndarray::zeros({4})});
    kv->barrier();
    std::string failing = "worker rank " + std::to_string(1 - kv->rank()) + " could not push key 3";
    auto out = ndarray::full(big, -1.0);
    auto took = timed([&] {
      kv->pushpull(3, kvstore::array_list{ndarray::full(big, 1.0), ndarray::full(big, 2.0)},
                   kvstore::array_list{out});
      expect_error([&] { out.wait_to_read(); }, errc::invalid_argument,
                   {"the round of key 3", failing.c_str(), "cannot allocate"});
    });
    EXPECT(took < 10000);  // not the 20 s round timeout
    kv->barrier();
    next_round_is_exact(*kv, 1.0f, 2.0f);
  } catch (const std::exception& e) {
    outcome = e.what();
  }
  int status = 0;
  waitpid(child, &status, 0);
  scheduler.join();
  server0.join();
  server1.join();
  REQUIRE(outcome == "ok");
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}
