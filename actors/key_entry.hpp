#pragma once
// One key (or key part) in a shard: its values, its optimizer state, its
// open round, and the queue that runs its operations one at a time.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "kvs/key.hpp"
#include "messages/array_view.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

// What a request that succeeded is answered with: the value a remote
// requester asked for, and for a push the rows that its round's update took
// as they were pushed (part_result::gradient_rows).
struct item_answer {
  item_answer(ndarray v = ndarray(), uint64_t rows = 0)  // NOLINT: a value alone converts
      : value(std::move(v)), gradient_rows(rows) {}
  ndarray value;
  uint64_t gradient_rows = 0;
};

// How a request ends: a failure, or success with its answer. Copies share
// the one callable they were made from (a copy is a reference count): a
// request's answer is copied into its key's queue, the push's sum, the
// round's held replies and the answer's copy job, and as a std::function each
// copy of its nested closures was an allocation (about 10 per part of a
// batch, most of a server's allocations for small keys).
class item_done {
public:
  item_done() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, item_done> &&
                                              std::is_invocable_v<F&, failure, item_answer>>>
  item_done(F fn)  // NOLINT: made from a closure, as a std::function is
      : fn_(std::make_shared<holder<F>>(std::move(fn))) {}
  void operator()(failure f, item_answer a) const {
    if (!fn_)  // as an empty std::function: an exception the handler catches
      throw std::bad_function_call();
    fn_->call(std::move(f), std::move(a));
  }
  explicit operator bool() const { return fn_ != nullptr; }

private:
  struct callable {
    virtual ~callable() = default;
    virtual void call(failure f, item_answer a) = 0;
  };
  template <class F>
  struct holder final : callable {
    explicit holder(F f) : fn(std::move(f)) {}
    void call(failure f, item_answer a) override { fn(std::move(f), std::move(a)); }
    F fn;
  };
  std::shared_ptr<callable> fn_;
};

// A push or pull answered when the open round completes.
struct held_reply {
  item_done done;
  std::vector<array_view> outputs;  // in-process destinations
  bool remote = false;              // answer with the value instead
  bool select_rows = false;         // answer only `rows` (pull_rows)
  std::vector<int64_t> rows;
  int32_t worker = 0;               // the requester's rank (its pull residual)
  uint64_t gradient_rows = 0;       // a push whose rows are the round's gradient: how many
  bool filled = false;              // its rows were written by the update's own pass
  // A pull that rode with the push that completed its round: if the round
  // fails, it is served next on the key, as if sent alone right behind that
  // push (the value as the failure left it), not failed with the round.
  bool rode = false;
};

// An operation waiting for its turn on the key.
struct queued_op {
  std::function<void()> run;
  item_done fail;  // ends it unrun (empty: it cannot be failed, it must run)
  std::chrono::steady_clock::time_point since;
};

struct key_entry {
  kvs::key key;
  uint32_t part = 0;
  ndarray stored;               // the value (or part) this shard owns
  ndarray merge;                // the round's sum when it cannot land in stored
  std::vector<ndarray> state;   // optimizer state kept beside the key
  uint64_t updates = 0;         // updates applied: the optimizer's t
  std::set<int32_t> pushed;     // workers that pushed in the open round
  std::vector<held_reply> held;
  ndarray grad;                 // the round's only input, used as its gradient (else merge)
  // The round's first dense pushes, kept as they lie in the workers' shared
  // memory (their answers wait for the round), summed with a later push in
  // one pass instead of copied into merge and read back (key_deferred.cpp).
  std::vector<array_view> deferred;
  failure round_failure;        // a worker announced it could not push: the round fails
  bool round_sparse = false;    // every push of the round was row_sparse...
  std::vector<int64_t> round_rows;  // ...touching these rows
  // The rows of merge that may be nonzero (nullopt: any): a round that
  // starts with a row_sparse push clears only these.
  std::optional<std::vector<int64_t>> merge_rows;
  // The open round's row_sparse pushes, held as they came (their ids, their
  // rows, and where their reply sits in `held`) while every push of the round
  // is one: summed straight into a compact gradient when the round completes,
  // or into merge before a push of another kind is summed
  // (actors/round_rows.cpp).
  struct rows_push {
    std::vector<int64_t> ids;
    array_view rows;
    size_t reply = 0;
  };
  std::vector<rows_push> rows_held;
  // The open round's packed pushes, held as they came (with the codec and
  // threshold they were packed with) to be summed in one pass when the
  // round completes, or before anything else is summed into the round, or
  // when one more would pass the bytes of the round's float buffer;
  // `packed_add`: pushes before them were summed into merge already.
  std::vector<ndarray> packed_held;
  uint8_t packed_codec = 0;
  float packed_threshold = 0;
  bool packed_add = false;
  // Compressed pulls: the stored value is a summed gradient (a round has
  // completed without an updater), and each worker's residual of what was
  // sent back to it. Workers sent the same sums have equal residuals: they
  // share one array (usually all workers do: each sum is packed once).
  bool summed = false;
  std::unordered_map<int32_t, ndarray> pull_residuals;
  // What each worker was sent for the current sum: a pull is a read, so a
  // second pull of the same sum gets the same bytes and leaves the residual
  // alone (cleared when a round completes; none: not sent yet).
  std::unordered_map<int32_t, ndarray> pull_packed;
  // The current sum packed from each residual it was packed from (none: the
  // zero residual of a worker's first pull): the bytes sent and the next
  // residual, for every worker that shares that residual.
  struct pull_packing {
    ndarray from, next, bytes;
  };
  std::vector<pull_packing> pull_packings;
  ndarray pull_spare;  // a residual no worker holds any more, reused as a next one
  // Rounds opened so far (the open one's number), its deadline and stall
  // report in the shard's deadline book (0: none), and when it opened.
  uint64_t rounds = 0;
  uint64_t round_timer = 0, stall_timer = 0;
  std::chrono::steady_clock::time_point round_since;
  // A timed-out update still runs: the key waits for it; operations queued
  // meanwhile fail once they waited a request timeout (checked by late_timer).
  bool late = false;
  uint64_t late_timer = 0;
  // Operations on one key run one at a time, in arrival order.
  bool busy = false, draining = false;
  std::deque<queued_op> waiting;
};

// The key as errors name it: "key 3", or "key 3 (part 1)" for a part of a
// split key.
std::string key_name(const key_entry& e);

// Runs `task` when the entry is free; the task calls release() when done.
// `fail` ends it unrun if it waits too long behind late work.
void enqueue(key_entry& e, std::function<void()> task, item_done fail = {});
// The same, ahead of everything waiting: what was sent right behind the
// task running now (a pull that could not ride with its push) runs next.
void enqueue_next(key_entry& e, std::function<void()> task, item_done fail = {});
void release(key_entry& e);
// Fails, with `err`, the operations queued before `cutoff` that can be
// failed; returns when the oldest one left was queued, if any is left.
std::optional<std::chrono::steady_clock::time_point> fail_queued_before(
    key_entry& e, std::chrono::steady_clock::time_point cutoff, const kvs::error& err);

}  // namespace kvs::detail
