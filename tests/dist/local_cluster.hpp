#pragma once
// A whole distributed job inside one test process: the scheduler and the
// servers run serve() in threads, each worker runs its body in a thread with
// its own store; every node has its own actor system, and they talk only
// through the middleman on 127.0.0.1, so every message is serialized.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <functional>
#include <iostream>
#include <sstream>
#include <streambuf>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../test_config.hpp"
#include "core/listen_port.hpp"

// Catch's assertions are not thread-safe: worker bodies check with these,
// which throw; local_cluster::run rethrows the first failure in the test's
// own thread.
#define EXPECT(cond)                                                                  \
  do {                                                                                \
    if (!(cond))                                                                      \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + \
                               ": expected " #cond);                                  \
  } while (false)

inline void expect_error(const std::function<void()>& call, kvs::errc code,
                         std::initializer_list<const char*> parts) {
  try {
    call();
  } catch (const kvs::error& e) {
    if (e.code() != code)
      throw std::runtime_error(std::string("expected ") + kvs::to_string(code) + ", got " +
                               kvs::to_string(e.code()) + ": " + e.what());
    for (auto p : parts)
      if (std::string(e.what()).find(p) == std::string::npos)
        throw std::runtime_error(std::string("\"") + p + "\" is not in: " + e.what());
    return;
  }
  throw std::runtime_error(std::string("expected kvs::error ") + kvs::to_string(code));
}

// Captures what std::cerr receives, from any thread, while it lives (make
// it before the nodes start and end it after they stop).
class cerr_capture {
public:
  cerr_capture() : old_(std::cerr.rdbuf(&buf_)) {}
  ~cerr_capture() { std::cerr.rdbuf(old_); }
  cerr_capture(const cerr_capture&) = delete;
  cerr_capture& operator=(const cerr_capture&) = delete;

  std::string text() {
    std::lock_guard<std::mutex> lock{buf_.mtx};
    return buf_.data;
  }
  // How many lines contain `part`.
  int lines_with(const std::string& part) {
    int n = 0;
    std::istringstream in(text());
    for (std::string line; std::getline(in, line);)
      n += line.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

private:
  struct locked_buf : std::streambuf {
    std::mutex mtx;
    std::string data;
    int overflow(int c) override {
      std::lock_guard<std::mutex> lock{mtx};
      if (c != EOF)
        data += static_cast<char>(c);
      return c;
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
      std::lock_guard<std::mutex> lock{mtx};
      data.append(s, static_cast<size_t>(n));
      return n;
    }
  };
  locked_buf buf_;
  std::streambuf* old_;
};

// Runs `body` in a forked child process (a node that a test can kill with
// SIGKILL); the child exits 0 when body returns or throws.
template <class F>
pid_t fork_node(F body) {
  pid_t pid = fork();
  if (pid == 0) {
    try {
      body();
    } catch (...) {
    }
    _exit(0);
  }
  return pid;
}

struct local_cluster {
  int workers, servers, port = kvs::detail::free_listen_port();
  std::chrono::milliseconds timeout{20000};
  std::chrono::milliseconds stall_warning{0};  // 0: the default (60 s)
  // Applied to every node's config (scheduler, servers, workers).
  std::function<void(kvs::config&)> settings = {};

  kvs::config node(const std::string& role) const {
    kvs::config c = test_config();
    c.role = role;
    c.root_uri = "127.0.0.1";
    c.root_port = port;
    c.num_workers = workers;
    c.num_servers = servers;
    c.scheduler_threads = 1;
    c.request_timeout = timeout;
    c.stall_warning = stall_warning;
    // The product's heartbeat timeout (30 s): killed nodes are noticed at
    // once, and a busy node on a loaded machine is not declared down (2 s
    // here did that: "server 0 is down" in 1 of 45 runs at load 18). Tests
    // of frozen nodes set a short one themselves.
    c.heartbeat_interval = std::chrono::milliseconds(200);
    if (settings)
      settings(c);
    return c;
  }

  // Runs `body(rank-ordered store)` on every worker; rethrows the first failure.
  void run(const std::string& type, const std::function<void(kvs::kvstore&)>& body,
           const std::function<void(kvs::config&)>& tweak = {}) {
    std::mutex mtx;
    std::exception_ptr first;
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
    threads.emplace_back(guard([&] { kvs::serve(node("scheduler")); }));
    for (int s = 0; s < servers; ++s)
      threads.emplace_back(guard([&] { kvs::serve(node("server")); }));
    for (int w = 0; w < workers; ++w)
      threads.emplace_back(guard([&] {
        auto cfg = node("worker");
        if (tweak)
          tweak(cfg);
        auto kv = kvs::create(type, cfg);
        body(*kv);
      }));
    for (auto& t : threads)
      t.join();
    if (first)
      std::rethrow_exception(first);
  }
};
