#pragma once
// The worker's dispatch queue, a plain class (no actors): one FIFO per key,
// a heap of the keys' heads ordered by priority (higher first, then call
// order), and a window on the operations and bytes that may be on their way
// at once. Only a key's head is ever in the heap, so priorities order
// operations across keys and never reorder two operations on one key.
// With one_push_per_round (dist_sync), a key's push waits in its FIFO while
// the key's previous push is unanswered: a worker may push a key once per
// round, and a waiting push holds no place in the window. An operation may
// also wait for others to finish first (array hazards, see
// array_hazards.hpp): until release() has been called for each, it holds
// back its key, and no place in the window either.
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
    uint64_t id = 0;  // unique while queued, for release()
  };

  explicit dispatch_queue(dispatch_limits limits = {}) : limits_(limits) {}

  // Queues an operation behind the earlier ones of its key; it may start
  // once release(id) has been called `blockers` times.
  void add(entry e, int blockers = 0) {
    if (blockers > 0)
      blocked_.emplace(e.id, blockers);
    auto& q = keys_[e.key];
    q.fifo.push_back(ticket{next_seq_++, std::move(e)});
    if (!q.in_heap)
      promote(q);
  }

  // The next operation to start (highest priority first) if the window has
  // room for it; it counts as on its way until done() is called for it.
  // With one push per round, pushes take no place in the window and go
  // first: a round needs every worker's push, and a push held back by a
  // window full of operations that wait for rounds would hold them forever.
  std::optional<entry> next() {
    if (!free_heap_.empty())
      return take(free_heap_);
    if (heap_.empty() || in_flight_ >= limits_.max_ops)
      return std::nullopt;
    auto& head = keys_[heap_.top().key].fifo.front();
    if (in_flight_ > 0 && in_flight_bytes_ + head.e.bytes > limits_.max_bytes)
      return std::nullopt;
    return take(heap_);
  }

  // An operation that next() returned has ended.
  void done(const kvs::key& k, int64_t bytes, bool is_push) {
    if (!windowless(is_push)) {
      --in_flight_;
      in_flight_bytes_ -= bytes;
    }
    if (!is_push)
      return;
    auto i = keys_.find(k);
    if (i == keys_.end())
      return;
    --i->second.pushes_out;
    if (!i->second.in_heap)
      promote(i->second);
  }

  // One of the operations `id` waits for has finished.
  void release(const kvs::key& k, uint64_t id) {
    auto b = blocked_.find(id);
    if (b == blocked_.end() || --b->second > 0)
      return;
    blocked_.erase(b);
    auto& q = keys_[k];
    if (!q.in_heap)
      promote(q);
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

  bool windowless(bool is_push) const { return limits_.one_push_per_round && is_push; }

  template <class Heap>
  entry take(Heap& heap) {
    auto& q = keys_[heap.top().key];
    heap.pop();
    entry out = std::move(q.fifo.front().e);
    q.fifo.pop_front();
    q.in_heap = false;
    if (!windowless(out.is_push)) {
      ++in_flight_;
      in_flight_bytes_ += out.bytes;
    }
    if (out.is_push)
      ++q.pushes_out;
    promote(q);
    return out;
  }

  // Puts the key's head into the heap, unless it is a push that must wait
  // for the key's open round.
  void promote(key_fifo& q) {
    if (q.fifo.empty())
      return;
    auto& head = q.fifo.front();
    if (limits_.one_push_per_round && head.e.is_push && q.pushes_out > 0)
      return;
    if (blocked_.count(head.e.id) > 0)
      return;
    auto& heap = windowless(head.e.is_push) ? free_heap_ : heap_;
    heap.push(head_ref{head.e.priority, head.seq, head.e.key});
    q.in_heap = true;
  }

  dispatch_limits limits_;
  uint64_t next_seq_ = 0;
  int in_flight_ = 0;
  int64_t in_flight_bytes_ = 0;
  std::unordered_map<kvs::key, key_fifo, key_hash> keys_;  // a key's entry stays: keys come back
  std::priority_queue<head_ref> heap_;
  std::priority_queue<head_ref> free_heap_;  // windowless pushes (one push per round)
  std::unordered_map<uint64_t, int> blocked_;  // id -> operations it still waits for
};

}  // namespace kvs::detail
