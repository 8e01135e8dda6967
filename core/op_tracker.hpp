#pragma once
// The caller's side of asynchronous operations: how many are still running
// (wait_all waits for none) and the failures not yet reported.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kvs/error.hpp"

namespace kvs::detail {

class op_tracker {
public:
  void started(size_t n = 1);
  void finished(const std::optional<kvs::error>& failure);
  // Waits until every started operation finished; throws the first failure
  // since the last call (and forgets the rest), or timeout when no operation
  // finished for `idle_limit`.
  void wait_all(std::chrono::milliseconds idle_limit);

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int64_t outstanding_ = 0;
  std::atomic<int64_t> running_{0};  // outstanding_, readable without the lock
  uint64_t finished_count_ = 0;
  std::vector<kvs::error> failures_;
};

// A one-shot result an actor sets and a caller waits for.
class completion {
public:
  void set(const std::optional<kvs::error>& failure);
  // Throws the failure, or timeout naming `what` after `limit`.
  void wait(std::chrono::milliseconds limit, const std::string& what);

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool done_ = false;
  std::optional<kvs::error> failure_;
};

}  // namespace kvs::detail
