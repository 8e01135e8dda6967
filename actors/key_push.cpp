// A shard's pushes and pulls on one key: what a push must satisfy to join a
// round, how its inputs are summed into the round, and when a pull is
// answered.
#include <algorithm>
#include <iterator>

#include "actors/key_shard_state.hpp"
#include "core/array_impl.hpp"
#include "core/row_ops.hpp"

namespace kvs::detail {

namespace {

int64_t rows_of(const key_entry& e) {
  return e.stored.shape().empty() ? 0 : e.stored.shape()[0];
}

// A row_sparse push or a pull of rows, before anything is written: row ids
// sorted, unique, rows of this part; a push's one input holds exactly them.
failure check_rows(const key_entry& e, const part_request& m) {
  return capture([&] {
    bool push = m.op == part_op::push;
    if (e.stored.shape().empty())  // a scalar has no rows (a client never sends this)
      throw kvs::error(errc::invalid_argument,
                       std::string(push ? "a row_sparse push of " : "a pull of rows of ") +
                           key_name(e) + ", a scalar: it has no rows");
    check_row_ids(m.rows, rows_of(e),
                  std::string(push ? "a row_sparse push of " : "a pull of rows of ") + key_name(e));
    if (!push)
      return;
    auto len = row_length(e.stored.shape());
    if (m.inputs.size() != 1 || m.inputs[0].count != m.rows.size() * len ||
        m.inputs[0].array.dtype() != e.stored.dtype())
      throw kvs::error(errc::invalid_argument,
                       "a row_sparse push of " + key_name(e) + " must carry one " +
                           to_string(e.stored.dtype()) + " input of " + std::to_string(m.rows.size()) +
                           " rows of " + std::to_string(len) + " elements");
    check_job(copy_job{m.inputs[0], {}});
  });
}

// Why a push cannot join a round, if it cannot.
failure refuse_push(shard_impl self, key_entry& e, const part_request& m) {
  auto& st = self->state;
  if (st.opts.sync && (m.worker < 0 || m.worker >= st.opts.num_workers))
    return kvs::error(errc::invalid_argument, "a push of " + key_name(e) + " from worker rank " +
                                                  std::to_string(m.worker) + ", in a job of " +
                                                  std::to_string(st.opts.num_workers) + " workers");
  if (e.pushed.count(m.worker) > 0)
    return kvs::error(errc::invalid_argument, "worker " + std::to_string(m.worker) +
                                                  " pushed " + key_name(e) + " twice in one round");
  if (st.opts.sync && !st.dead_workers.empty())
    return kvs::error(errc::peer_down, "worker rank " + std::to_string(*st.dead_workers.begin()) +
                                           " is down: the round of " + key_name(e) +
                                           " cannot complete");
  if (!st.opts.sync && !st.updater.actor)
    return kvs::error(errc::invalid_argument, "dist_async applies each push with the optimizer: "
                                              "call set_optimizer before pushing " +
                                                  key_name(e));
  if (m.sparse)
    return check_rows(e, m);
  return std::nullopt;
}

// Tracks whether the whole round's gradient was row_sparse, and its rows.
// The round's first rows are moved in, not copied: a copy of ids is a big
// allocation per push, and glibc gives each freed one back to the kernel
// (madvise and a TLB shootdown), then faults it in again.
void note_rows(key_entry& e, bool sparse, std::vector<int64_t>&& rows) {
  if (e.pushed.empty()) {
    e.round_sparse = sparse;
    e.round_rows = std::move(rows);
    return;
  }
  e.round_sparse = e.round_sparse && sparse;
  add_ids(e.round_rows, rows);
}

// One push per round, one whole input of the key's size and dtype: with an
// updater, the input is the round's gradient as it is (the requester's
// array stays marked until the push is answered). Never a range of a
// worker's shared memory: an updater that outlives the request's deadline
// would still read it after the worker reused it; that input is summed
// (copied) into the merge buffer instead.
bool gradient_as_is(const key_entry& e, const part_request& m) {
  auto& in = m.inputs;
  if (m.sparse || (in.size() == 1 && is_borrowed(in[0].array)))
    return false;
  return in.size() == 1 && in[0].offset == 0 && in[0].count == in[0].array.size() &&
         in[0].array.size() == e.stored.size() && in[0].array.dtype() == e.stored.dtype() &&
         in[0].array.storage() == storage::dense;
}

// A round of one row_sparse push, for an updater that takes rows as they
// are (takes_pushed_rows): the pushed rows are the round's gradient, with no
// dense merge buffer to clear, fill and read. Rows in a worker's shared
// memory go too, copied (rows_gradient).
bool rows_as_is(const shard_state& st, const key_entry& e, const part_request& m, bool alone) {
  return alone && takes_pushed_rows(st, e, m);
}

// The pushed rows as a row_sparse gradient of the key's shape: the pushed
// buffer itself when it is exactly those rows, else a compact copy (a value
// from another process arrives flat; a part may start inside a buffer).
// Rows in a worker's shared memory are always copied: an updater that runs
// past the request's deadline would still read them after the worker
// reused the range (as gradient_as_is, above).
// The push's row ids move into it: the gradient carries them to the
// updater, so the round keeps no copy (see run_update).
ndarray rows_gradient(const key_entry& e, part_request& m) {
  auto& in = m.inputs[0];
  kvs::shape s = e.stored.shape();
  s[0] = static_cast<int64_t>(m.rows.size());
  ndarray rows;
  if (in.offset == 0 && in.array.shape() == s && in.array.storage() == storage::dense &&
      !is_borrowed(in.array)) {
    rows = unmarked_alias(in.array);
  } else {
    rows = make_uninitialized(s, e.stored.dtype(), cpu());
    copy_elements(in.array, in.offset, rows, 0, in.count);
  }
  return ndarray::row_sparse(e.stored.shape(), std::move(m.rows), rows);
}

// The job that sums the push into the round: into stored (`direct`) or into
// the round's merge buffer (added to it once an earlier push of the round
// was summed there). The round's deferred pushes go first, in their order.
reduce_job sum_job(key_entry& e, std::vector<array_view> in, bool direct) {
  if (!direct && e.merge.is_none())
    e.merge = make_uninitialized(e.stored.shape(), e.stored.dtype(), e.stored.device());
  auto& dest = direct ? e.stored : e.merge;
  make_exclusive(dest);
  if (!direct)
    e.merge_rows.reset();  // a dense sum may write any row
  bool add = !direct && e.pushed.size() > e.deferred.size();
  in.insert(in.begin(), std::make_move_iterator(e.deferred.begin()),
            std::make_move_iterator(e.deferred.end()));
  e.deferred.clear();
  return reduce_job{std::move(in), array_view::whole(dest), add};
}

// The round's deferred pushes summed into merge here and now, before a push
// that cannot take them into its own pass (rows, packed, several inputs).
// Host arrays only (defers_push), and rare: one such round in a job mixes
// kinds of pushes.
void sum_deferred_now(key_entry& e) {
  if (e.deferred.empty())
    return;
  auto job = sum_job(e, {}, false);
  check_job(job);
  sum_range(job, 0, job.dest.count);
}

}  // namespace

void sum_held_pushes(const shard_state& st, key_entry& e, std::optional<int32_t> pack_for) {
  if (e.packed_held.empty())
    return;
  auto job = sum_job(e, {}, false);
  job.accumulate = e.packed_add;
  sum_held(st, e, job, pack_for);
}

void do_push(shard_impl self, key_entry& e, part_request& m, bool remote, item_done done) {
  auto& st = self->state;
  int round_size = st.opts.sync ? st.opts.num_workers : 1;
  bool alone = round_size == 1;
  bool direct = alone && !st.updater.actor;  // stored = the sum: sum straight into it
  // A push announced failed, or any push of a round that will fail: nothing
  // to sum, it only takes its place in the round.
  bool skip = m.failed || e.round_failure.has_value();
  reduce_job job;
  if (auto refused = refuse_push(self, e, m)) {  // not a push of this round at all
    done(std::move(refused), ndarray());
    done_with(e);
    return;
  }
  failure why;
  bool packed = false;  // summed as it is unpacked (actors/key_compression.cpp)
  if (!skip && m.codec != 0)
    why = capture([&] {
      if (m.sparse)
        throw kvs::error(errc::invalid_argument, "a packed (compressed) push of " + key_name(e) +
                                                     " carries rows; compression is for dense values");
      check_packed(st, e, m);
      packed = sums_packed(e, m);
      if (!packed)
        unpack_push(st, e, m);
    });
  bool defer = !why && !skip && defers_push(st, e, m, round_size);
  bool joins_deferred = takes_deferred(e, m);
  bool round_spoiled = false;  // earlier pushes of the round were consumed by a failed sum
  if (!why && !skip && !defer && !joins_deferred)
    round_spoiled = static_cast<bool>(why = capture([&] { sum_deferred_now(e); }));
  else if (!why && !skip && joins_deferred)  // checked before the round's pushes join its pass
    why = capture([&] { check_inputs(e, m); });
  bool hold = !why && packed && holds_packed(st, e, direct);
  bool rows_held = !why && !skip && holds_rows(st, e, m, alone);  // summed as the round completes
  // Pushes held before this one are summed first: their order, and no more
  // held than the round's float buffer holds.
  if (!why && !skip && !rows_held && !e.rows_held.empty())
    round_spoiled = static_cast<bool>(why = capture([&] { merge_held_rows(e); }));
  if (!why && !skip && (!hold || held_full(e, m)))
    why = capture([&] { sum_held_pushes(st, e); });
  bool as_is = !why && !skip && !packed && !defer && alone && !direct && gradient_as_is(e, m);
  bool rows_taken = !why && !hold && !skip && rows_as_is(st, e, m, alone);
  uint64_t gradient_rows = rows_taken ? m.rows.size() : 0;  // counted by the requester
  if (!why && defer)
    why = capture([&] { defer_push(e, m); });  // summed with a later push of the round
  else if (!why && hold)
    why = capture([&] { hold_packed(st, e, m); });  // summed with the round's other packed pushes
  else if (rows_taken)
    why = capture([&] { e.grad = rows_gradient(e, m); });
  else if (rows_held)
    hold_rows(e, m);
  else if (!why && !skip && m.sparse)
    why = capture([&] { sum_rows(e, m.rows, m.inputs[0], direct, e.pushed.empty()); });
  else if (!why && !as_is && !skip)
    why = capture([&] {
      job = sum_job(e, std::move(m.inputs), direct);
      if (packed)
        sum_packed(st, job);
    });
  if (why) {
    done(why, ndarray());
    if (round_spoiled)  // the held or deferred pushes it took are gone: the round fails
      guarded(self, e, nullptr, [&] { fail_round(self, e, *why); });
    else
      done_with(e);
    return;
  }
  if (m.failed && !e.round_failure)
    e.round_failure = kvs::error(m.failed_code <= static_cast<uint8_t>(errc::timeout)
                                     ? static_cast<errc>(m.failed_code)
                                     : errc::invalid_argument,  // a code from outside: checked
                                 "worker rank " + std::to_string(m.worker) + " could not push " +
                                     key_name(e) + ": " + m.failed_why);
  if (as_is)
    // An alias with its own marks: the caller's array may already carry the
    // write mark of a later operation that waits for this one.
    e.grad = detail::unmarked_alias(m.inputs[0].array);
  auto joined = [self, &e, done, outputs = std::move(m.outputs), worker = m.worker, gradient_rows,
                 sparse = m.sparse, rows = std::move(m.rows), remote, round_size, direct,
                 joins_deferred](failure f) mutable {
    if (f) {  // the sum failed: the push does not join the round
      done(f, ndarray());
      if (joins_deferred)  // nor can the round: its deferred pushes were in that sum
        guarded(self, e, nullptr, [&] { fail_round(self, e, *f); });
      else
        done_with(e);
      return;
    }
    guarded(self, e, &done, [&] {
      note_rows(e, sparse, std::move(rows));
      join_round(self, e, worker,
                 held_reply{done, std::move(outputs), remote, false, {}, worker, gradient_rows},
                 round_size, direct);
    });
  };
  if (as_is || skip || m.sparse || packed || defer)  // nothing left to sum now
    joined(std::nullopt);
  else
    run_reduce(self, runner(self), std::move(job), "reduce", std::move(joined));
}

namespace {
// What a pull is answered through, or none when its rows are wrong (then
// it is answered with why).
std::optional<held_reply> pull_reply(const key_entry& e, part_request& m, bool remote,
                                     item_done& done) {
  bool rows = m.op == part_op::pull_rows;
  if (rows) {
    if (auto why = check_rows(e, m)) {
      done(std::move(why), ndarray());
      return std::nullopt;
    }
  }
  return held_reply{std::move(done), std::move(m.outputs), remote, rows, std::move(m.rows), m.worker};
}
}  // namespace

void do_pull(shard_impl self, key_entry& e, part_request& m, bool remote, item_done done) {
  auto h = pull_reply(e, m, remote, done);
  if (!h) {
    done_with(e);
    return;
  }
  if (e.pushed.count(m.worker) > 0) {
    // This worker's own push is in the open round: answer after it.
    e.held.push_back(std::move(*h));
    done_with(e);
    return;
  }
  std::vector<held_reply> one;
  one.push_back(std::move(*h));
  deliver_value(self, e, std::move(one), std::nullopt);
}

void hold_pull(key_entry& e, part_request& m, bool remote, item_done done) {
  if (auto h = pull_reply(e, m, remote, done))
    e.held.push_back(std::move(*h));
}

}  // namespace kvs::detail
