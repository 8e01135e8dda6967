#pragma once
// One key (or key part) in a shard: its values, its optimizer state, its
// open round, and the queue that runs its operations one at a time.
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <vector>

#include "kvs/key.hpp"
#include "messages/array_view.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

// How a request ends: a failure, or success with (for a remote requester)
// the value it asked for.
using item_done = std::function<void(failure, ndarray)>;

// A push or pull answered when the open round completes.
struct held_reply {
  item_done done;
  std::vector<array_view> outputs;  // in-process destinations
  bool remote = false;              // answer with the value instead
};

struct key_entry {
  kvs::key key;
  ndarray stored;               // the value (or part) this shard owns
  ndarray merge;                // the round's sum when it cannot land in stored
  std::vector<ndarray> state;   // optimizer state kept beside the key
  uint64_t updates = 0;         // updates applied: the optimizer's t
  std::set<int32_t> pushed;     // workers that pushed in the open round
  std::vector<held_reply> held;
  ndarray grad;                 // the round's only input, used as its gradient (else merge)
  bool round_sparse = false;    // every push of the round was row_sparse...
  std::vector<int64_t> round_rows;  // ...touching these rows
  // Operations on one key run one at a time, in arrival order.
  bool busy = false, draining = false;
  std::deque<std::function<void()>> waiting;
};

// Runs `task` when the entry is free; the task calls release() when done.
void enqueue(key_entry& e, std::function<void()> task);
void release(key_entry& e);

}  // namespace kvs::detail
