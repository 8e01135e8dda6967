#pragma once
// Deadlines for an actor's outstanding requests, checked by one periodic
// tick instead of a CAF timer per request: registering a timer wakes CAF's
// clock thread, which costs more than a whole in-process request. Every
// request still ends: answered, failed, or expired by the tick.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kvs/error.hpp"

namespace kvs::detail {

class deadline_book {
public:
  using clock = std::chrono::steady_clock;

  using fail_fn = std::function<void(kvs::error)>;

  // Registers a request; `fail` gets a timeout error if it is still open at
  // `limit` (`what` names the request in it).
  uint64_t open(std::chrono::milliseconds limit, std::string what, fail_fn fail) {
    auto id = next_id_++;
    open_.emplace(id, entry{clock::now() + limit, limit, std::move(what), std::move(fail)});
    return id;
  }

  // Closes a request; false when it had already ended (ignore the answer).
  bool close(uint64_t id) { return open_.erase(id) > 0; }

  // Ends an open request now with `err` (its peer is gone); false if it had ended.
  bool fail(uint64_t id, kvs::error err) {
    auto i = open_.find(id);
    if (i == open_.end())
      return false;
    auto fn = std::move(i->second.fail);
    open_.erase(i);
    fn(std::move(err));
    return true;
  }

  // Fails every request past its deadline with a timeout error. A failure
  // may open or close other requests (one that it closes is not failed).
  void expire() {
    auto now = clock::now();
    std::vector<uint64_t> due;
    for (auto& [id, e] : open_)
      if (e.deadline <= now)
        due.push_back(id);
    for (auto id : due) {
      auto i = open_.find(id);
      if (i == open_.end())
        continue;
      auto e = std::move(i->second);
      open_.erase(i);
      e.fail(kvs::error(errc::timeout, e.what + ": no answer within " +
                                           std::to_string(e.limit.count()) + " ms"));
    }
  }

  bool empty() const { return open_.empty(); }
  bool is_open(uint64_t id) const { return open_.count(id) > 0; }

  // Whether a tick is scheduled; the owner arms one while requests are open.
  bool tick_armed = false;

private:
  struct entry {
    clock::time_point deadline;
    std::chrono::milliseconds limit;
    std::string what;
    fail_fn fail;
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
