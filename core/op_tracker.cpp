#include "core/op_tracker.hpp"

#include <thread>

namespace kvs::detail {

void op_tracker::started(size_t n) {
  std::lock_guard<std::mutex> guard{mtx_};
  outstanding_ += static_cast<int64_t>(n);
  running_.store(outstanding_);
}

void op_tracker::finished(const std::optional<kvs::error>& failure) {
  std::lock_guard<std::mutex> guard{mtx_};
  --outstanding_;
  running_.store(outstanding_);
  ++finished_count_;
  if (failure)
    failures_.push_back(*failure);
  if (outstanding_ == 0)
    cv_.notify_all();
}

void op_tracker::wait_all(std::chrono::milliseconds idle_limit) {
  // A short spin first: small operations finish within microseconds, and
  // waking a sleeping thread costs tens of them.
  auto spin_end = std::chrono::steady_clock::now() + std::chrono::microseconds(30);
  while (running_.load() > 0 && std::chrono::steady_clock::now() < spin_end)
    std::this_thread::yield();
  std::unique_lock<std::mutex> lock{mtx_};
  while (outstanding_ > 0) {
    auto seen = finished_count_;
    if (!cv_.wait_for(lock, idle_limit, [&] { return outstanding_ == 0 || finished_count_ != seen; }))
      throw kvs::error(errc::timeout, "wait_all: " + std::to_string(outstanding_) +
                                          " operation(s) made no progress for " +
                                          std::to_string(idle_limit.count()) + " ms");
  }
  if (!failures_.empty()) {
    auto first = failures_.front();
    failures_.clear();
    throw first;
  }
}

void completion::set(const std::optional<kvs::error>& failure) {
  std::lock_guard<std::mutex> guard{mtx_};
  done_ = true;
  failure_ = failure;
  cv_.notify_all();
}

void completion::wait(std::chrono::milliseconds limit, const std::string& what) {
  std::unique_lock<std::mutex> lock{mtx_};
  if (!cv_.wait_for(lock, limit, [&] { return done_; }))
    throw kvs::error(errc::timeout, what + " did not finish within " + std::to_string(limit.count()) + " ms");
  if (failure_)
    throw *failure_;
}

}  // namespace kvs::detail
