#include "core/sync_var.hpp"

#include <thread>

namespace kvs::detail {

namespace {
void raise_limit(std::atomic<int64_t>& cur, std::chrono::milliseconds limit) {
  auto want = static_cast<int64_t>(limit.count());
  auto seen = cur.load();
  while (seen < want && !cur.compare_exchange_weak(seen, want)) {
  }
}
}  // namespace

void sync_var::begin_read(std::chrono::milliseconds limit) {
  raise_limit(limit_ms_, limit);
  readers_.fetch_add(1);
}

void sync_var::end_read() {
  readers_.fetch_sub(1);
  notify();
}

void sync_var::begin_write(std::chrono::milliseconds limit) {
  raise_limit(limit_ms_, limit);
  writers_.fetch_add(1);
}

void sync_var::end_write(const std::optional<kvs::error>& failure) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    error_ = failure;
    has_error_.store(failure.has_value());
  }
  writers_.fetch_sub(1);
  notify();
}

void sync_var::notify() {
  // A sleeper registers before it checks the counters, and we decrement
  // before we look for sleepers, so one of us always sees the other.
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> guard{mtx_};
    cv_.notify_all();
  }
}

bool sync_var::idle() const {
  return readers_.load() == 0 && writers_.load() == 0;
}

template <class Pred>
void sync_var::wait_until(Pred ready, const char* what, const char* waiting_for) const {
  if (ready())
    return;
  // A short spin: most in-process answers arrive within microseconds, and
  // waking a sleeping thread costs tens of them.
  auto spin_end = std::chrono::steady_clock::now() + std::chrono::microseconds(30);
  while (std::chrono::steady_clock::now() < spin_end) {
    for (int i = 0; i < 64; ++i) {
      if (ready())
        return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    std::this_thread::yield();
  }
  std::unique_lock<std::mutex> lock{mtx_};
  sleepers_.fetch_add(1);
  auto limit = std::chrono::milliseconds(limit_ms_.load());
  bool ok = cv_.wait_for(lock, limit, ready);
  sleepers_.fetch_sub(1);
  if (!ok)
    throw kvs::error(errc::timeout, std::string("waiting for ") + waiting_for + " of " + what +
                                        " timed out after " + std::to_string(limit.count()) +
                                        " ms");
}

void sync_var::wait_readable(const char* what) const {
  wait_until([this] { return writers_.load() == 0; }, what, "a pending write");
  if (has_error_.load()) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (error_)
      throw *error_;
  }
}

void sync_var::wait_writable(const char* what) const {
  wait_until([this] { return writers_.load() == 0 && readers_.load() == 0; }, what,
             "pending store operations");
}

}  // namespace kvs::detail
