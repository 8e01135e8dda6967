#pragma once
// The worker's dispatch queue, a plain class (no actors): one FIFO per key,
// a heap of the keys' heads ordered by priority (higher first, then call
// order), and a window on the operations and bytes that may be on their way
// at once. Only a key's head is ever in the heap, so priorities order
// operations across keys and never reorder two operations on one key.
// With one_push_per_round (dist_sync), a key's push waits in its FIFO while
// the key's previous push is unanswered: a worker may push a key once per
// round, and a waiting push holds no place in the window.
#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kvs/key.hpp"

namespace kvs::detail {

struct dispatch_limits {
  int max_ops = 1024;
  int64_t max_bytes = int64_t{128} << 20;  // one bigger operation may still go alone
  bool one_push_per_round = false;
};

template <class T>
class dispatch_queue {
public:
  struct entry {
    kvs::key key;
    int priority = 0;
    int64_t bytes = 0;
    bool is_push = false;
    T item;
  };

  explicit dispatch_queue(dispatch_limits limits = {}) : limits_(limits) {}

  // Queues an operation behind the earlier ones of its key.
  void add(entry e) {
    auto& q = keys_[e.key];
    q.fifo.push_back(ticket{next_seq_++, std::move(e)});
    if (!q.in_heap)
      promote(q);
  }

  // The next operation to start (highest priority first) if the window has
  // room for it; it counts as on its way until done() is called for it.
  std::optional<entry> next() {
    if (heap_.empty() || in_flight_ >= limits_.max_ops)
      return std::nullopt;
    auto top = heap_.top();
    auto& q = keys_[top.key];
    auto& head = q.fifo.front();
    if (in_flight_ > 0 && in_flight_bytes_ + head.e.bytes > limits_.max_bytes)
      return std::nullopt;
    heap_.pop();
    entry out = std::move(head.e);
    q.fifo.pop_front();
    q.in_heap = false;
    ++in_flight_;
    in_flight_bytes_ += out.bytes;
    if (out.is_push)
      ++q.pushes_out;
    promote(q);
    return out;
  }

  // An operation that next() returned has ended.
  void done(const kvs::key& k, int64_t bytes, bool is_push) {
    --in_flight_;
    in_flight_bytes_ -= bytes;
    if (!is_push)
      return;
    auto i = keys_.find(k);
    if (i == keys_.end())
      return;
    --i->second.pushes_out;
    if (!i->second.in_heap)
      promote(i->second);
  }

  int in_flight() const { return in_flight_; }
  int64_t in_flight_bytes() const { return in_flight_bytes_; }

private:
  struct ticket {
    uint64_t seq;
    entry e;
  };
  struct key_fifo {
    std::deque<ticket> fifo;
    bool in_heap = false;
    int pushes_out = 0;  // pushes started and not done
  };
  struct head_ref {
    int priority;
    uint64_t seq;
    kvs::key key;
    // std::priority_queue pops the largest: higher priority, then earlier call.
    bool operator<(const head_ref& o) const {
      return priority != o.priority ? priority < o.priority : seq > o.seq;
    }
  };

  // Puts the key's head into the heap, unless it is a push that must wait
  // for the key's open round.
  void promote(key_fifo& q) {
    if (q.fifo.empty())
      return;
    auto& head = q.fifo.front();
    if (limits_.one_push_per_round && head.e.is_push && q.pushes_out > 0)
      return;
    heap_.push(head_ref{head.e.priority, head.seq, head.e.key});
    q.in_heap = true;
  }

  dispatch_limits limits_;
  uint64_t next_seq_ = 0;
  int in_flight_ = 0;
  int64_t in_flight_bytes_ = 0;
  std::unordered_map<kvs::key, key_fifo, key_hash> keys_;  // a key's entry stays: keys come back
  std::priority_queue<head_ref> heap_;
};

}  // namespace kvs::detail
