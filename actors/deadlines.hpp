#pragma once
// Deadlines for an actor's outstanding requests, checked by one periodic
// tick instead of a CAF timer per request: registering a timer wakes CAF's
// clock thread, which costs more than a whole in-process request. Every
// request still ends: answered, failed, or expired by the tick.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>

namespace kvs::detail {

class deadline_book {
public:
  using clock = std::chrono::steady_clock;

  // Registers a request; `on_expiry` runs if it is still open at `limit`.
  uint64_t open(std::chrono::milliseconds limit, std::function<void()> on_expiry) {
    auto id = next_id_++;
    open_.emplace(id, entry{clock::now() + limit, std::move(on_expiry)});
    return id;
  }

  // Closes a request; false when it had already expired (ignore the answer).
  bool close(uint64_t id) { return open_.erase(id) > 0; }

  // Runs the expiry of every request past its deadline.
  void expire() {
    auto now = clock::now();
    for (auto i = open_.begin(); i != open_.end();) {
      if (i->second.deadline <= now) {
        auto fn = std::move(i->second.on_expiry);
        i = open_.erase(i);
        fn();
      } else {
        ++i;
      }
    }
  }

  bool empty() const { return open_.empty(); }

  // Whether a tick is scheduled; the owner arms one while requests are open.
  bool tick_armed = false;

private:
  struct entry {
    clock::time_point deadline;
    std::function<void()> on_expiry;
  };
  uint64_t next_id_ = 0;
  std::map<uint64_t, entry> open_;
};

// How often an actor checks its deadlines: a tenth of the timeout, within
// [10 ms, 1 s].
inline std::chrono::milliseconds tick_interval(std::chrono::milliseconds timeout) {
  auto t = timeout / 10;
  if (t < std::chrono::milliseconds(10))
    return std::chrono::milliseconds(10);
  if (t > std::chrono::milliseconds(1000))
    return std::chrono::milliseconds(1000);
  return t;
}

}  // namespace kvs::detail
