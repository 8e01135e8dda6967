// bench/soak: does memory stay flat under many tiny operations? A million
// push+pull pairs of a 4-element key through the local store, then a hundred
// thousand through dist_sync with 2 workers and 2 servers. The dist_sync job
// runs inside this process (the scheduler, both servers and both workers in
// threads, each with its own actor system, talking over 127.0.0.1), so one
// resident-memory figure covers every node. Pairs alternate between keys 0
// and 1 (one per server); the test optimizer (w += g) runs on every push and
// every pulled value is checked.
//
// Run:    ./build/bench/soak [PAIRS=1000000 [DIST_PAIRS=PAIRS/10]]
// Prints, per store, resident memory (VmRSS) at the start, every 10% and at
// the end, with pairs/s over the last step and overall; then whether RSS grew
// by more than 5% from the end of warm-up (the first 10%) to the end.
// Exits 1 when it did, 2 when an operation failed or a value was wrong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <kvs/kvs.hpp>

#include "bench_util.hpp"

using namespace kvs;

namespace {

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

// Prints RSS every 10% of `total` pairs; remembers the figure after warm-up.
class progress {
 public:
  progress(std::string name, int64_t total) : name_(std::move(name)), total_(total) {
    std::printf("%-9s start  %9d pairs  rss %8.2f MiB\n", name_.c_str(), 0, rss_mib());
    std::fflush(stdout);
  }
  // Call after each pair; `done` counts pairs finished.
  void after(int64_t done) {
    if (done * 10 < total_ * (step_ + 1) && done != total_)
      return;
    ++step_;
    double rss = rss_mib();
    double dt = bench::seconds_since(last_);
    last_ = bench::clock::now();
    if (step_ == 1)
      warm_rss_ = rss;
    std::printf("%-9s %4lld%%  %9lld pairs  rss %8.2f MiB  %9.0f pairs/s\n", name_.c_str(),
                static_cast<long long>(done * 100 / total_), static_cast<long long>(done), rss,
                static_cast<double>(done - last_done_) / dt);
    std::fflush(stdout);
    last_done_ = done;
  }
  // Prints the verdict; true when RSS stayed within 5% of the warm-up figure.
  bool finish() const {
    double rss = rss_mib();
    double growth = (rss - warm_rss_) / warm_rss_ * 100.0;
    bool flat = growth <= 5.0;
    std::printf("%-9s end    %9lld pairs in %.1f s, %.0f pairs/s; rss %.2f MiB after warm-up, "
                "%.2f MiB at the end (%+.1f%%): %s\n",
                name_.c_str(), static_cast<long long>(total_), bench::seconds_since(start_),
                static_cast<double>(total_) / bench::seconds_since(start_), warm_rss_, rss, growth,
                flat ? "flat" : "GROWS (limit +5%)");
    std::fflush(stdout);
    return flat;
  }

 private:
  std::string name_;
  int64_t total_;
  int step_ = 0;
  int64_t last_done_ = 0;
  double warm_rss_ = 0;
  bench::clock::time_point start_ = bench::clock::now(), last_ = start_;
};

// `pairs` push+pull pairs on keys 0 and 1 in turn; each push adds `step` to
// the key (summed over workers), so pull i finds step * (i / 2 + 1).
void push_pull_pairs(kvstore& kv, int64_t pairs, float grad, float step, progress* log) {
  kv.init(std::vector<key>{0, 1}, {ndarray::zeros({4}), ndarray::zeros({4})});
  kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
  auto g = ndarray::full({4}, grad);
  auto out = ndarray::zeros({4});
  for (int64_t i = 0; i < pairs; ++i) {
    key k = i % 2;
    kv.push(k, g);
    kv.pull(k, out);
    float got = std::as_const(out).data<float>()[3];
    float want = step * static_cast<float>(i / 2 + 1);
    if (got != want)
      throw std::runtime_error("pair " + std::to_string(i) + ": pulled " + std::to_string(got) +
                               ", expected " + std::to_string(want));
    if (log)
      log->after(i + 1);
  }
}

bool soak_local(int64_t pairs) {
  config cfg;
  cfg.read_environment = false;
  auto kv = create("local", cfg);
  progress log{"local", pairs};
  push_pull_pairs(*kv, pairs, 1.0f, 1.0f, &log);
  return log.finish();
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// 2 workers, 2 servers and the scheduler in threads; rank 0 logs.
bool soak_dist_sync(int64_t pairs) {
  const int workers = 2, servers = 2;
  config base;
  base.read_environment = false;
  base.root_uri = "127.0.0.1";
  base.root_port = free_port();
  base.num_workers = workers;
  base.num_servers = servers;
  auto node = [&](const char* role) {
    config c = base;
    c.role = role;
    return c;
  };
  std::mutex mtx;
  std::exception_ptr first;
  bool flat = true;
  auto guard = [&](auto fn) {
    return [&, fn] {
      try {
        fn();
      } catch (...) {
        std::lock_guard<std::mutex> lock{mtx};
        if (!first)
          first = std::current_exception();
      }
    };
  };
  std::vector<std::thread> threads;
  threads.emplace_back(guard([&] { serve(node("scheduler")); }));
  for (int s = 0; s < servers; ++s)
    threads.emplace_back(guard([&] { serve(node("server")); }));
  for (int w = 0; w < workers; ++w)
    threads.emplace_back(guard([&] {
      auto kv = create("dist_sync", node("worker"));
      std::unique_ptr<progress> log;
      if (kv->rank() == 0)
        log = std::make_unique<progress>("dist_sync", pairs);
      // Workers push 1 and 2: every round adds 3.
      push_pull_pairs(*kv, pairs, static_cast<float>(kv->rank() + 1), 3.0f, log.get());
      kv->barrier();
      if (log)
        flat = log->finish();
    }));
  for (auto& t : threads)
    t.join();
  if (first)
    std::rethrow_exception(first);
  return flat;
}

int64_t count_arg(int argc, char** argv, int i, int64_t fallback) {
  if (argc <= i)
    return fallback;
  char* end = nullptr;
  long long n = std::strtoll(argv[i], &end, 10);
  if (*end != '\0' || n < 10)
    throw std::invalid_argument(std::string("soak: a count of at least 10 expected, got \"") +
                                argv[i] + "\"");
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int64_t local_pairs = count_arg(argc, argv, 1, 1000000);
    int64_t dist_pairs = count_arg(argc, argv, 2, std::max<int64_t>(10, local_pairs / 10));
    bool local_flat = soak_local(local_pairs);
    bool dist_flat = soak_dist_sync(dist_pairs);
    return local_flat && dist_flat ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
    return 2;
  }
}
