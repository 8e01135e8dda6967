#pragma once
// The readiness of one storage: how many store operations read or write it
// right now, and the error the last failed write left. Readers of the user's
// side wait for writes; writers wait for reads and writes. Waits spin for a
// few microseconds (a store answer often lands that fast) and then sleep.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "kvs/error.hpp"

namespace kvs::detail {

class sync_var {
public:
  // `limit` bounds how long a user may wait for this operation to end.
  void begin_read(std::chrono::milliseconds limit);
  void end_read();
  void begin_write(std::chrono::milliseconds limit);
  // Ends a write; a failed write leaves its error for the next reader, a
  // successful one clears what an earlier failure left.
  void end_write(const std::optional<kvs::error>& failure);

  // Waits until no write is pending, then throws the error a failed write
  // left, if any. `what` names the array in a timeout message.
  void wait_readable(const char* what) const;
  // Waits until no read or write is pending (the caller is about to write).
  void wait_writable(const char* what) const;
  bool idle() const;
  bool writing() const { return writers_.load() > 0; }  // a write is pending

private:
  template <class Pred>
  void wait_until(Pred ready, const char* what, const char* waiting_for) const;
  void notify();

  std::atomic<int> readers_{0};
  std::atomic<int> writers_{0};
  std::atomic<bool> has_error_{false};
  mutable std::atomic<int> sleepers_{0};
  std::atomic<int64_t> limit_ms_{0};
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::optional<kvs::error> error_;  // guarded by mtx_
};

}  // namespace kvs::detail
