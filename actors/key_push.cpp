// A shard's pushes and pulls on one key: what a push must satisfy to join a
// round, how its inputs are summed into the round, and when a pull is
// answered.
#include <algorithm>
#include <iterator>

#include "actors/key_shard_state.hpp"
#include "core/array_impl.hpp"

namespace kvs::detail {

namespace {

// The row ids of a row_sparse push: sorted, unique, rows of the key.
failure check_rows(const key_entry& e, const part_request& m) {
  int64_t rows = e.stored.shape().empty() ? 0 : e.stored.shape()[0];
  int64_t previous = -1;
  for (auto r : m.rows) {
    if (r <= previous || r >= rows)
      return kvs::error(errc::invalid_argument,
                        "the row ids of a row_sparse push of " + key_name(e) +
                            " must be sorted, unique and below " + std::to_string(rows) +
                            "; got " + std::to_string(r) + " after " + std::to_string(previous));
    previous = r;
  }
  return std::nullopt;
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
void note_rows(key_entry& e, bool sparse, const std::vector<int64_t>& rows) {
  if (e.pushed.empty()) {
    e.round_sparse = sparse;
    e.round_rows = rows;
    return;
  }
  e.round_sparse = e.round_sparse && sparse;
  std::vector<int64_t> merged;
  std::set_union(e.round_rows.begin(), e.round_rows.end(), rows.begin(), rows.end(),
                 std::back_inserter(merged));
  e.round_rows = std::move(merged);
}

// One push per round, one whole input of the key's size and dtype: with an
// updater, the input is the round's gradient as it is (the requester's
// array stays marked until the push is answered).
bool gradient_as_is(const key_entry& e, const std::vector<array_view>& in) {
  return in.size() == 1 && in[0].offset == 0 && in[0].count == in[0].array.size() &&
         in[0].array.size() == e.stored.size() && in[0].array.dtype() == e.stored.dtype() &&
         in[0].array.storage() == storage::dense;
}

// The job that sums the push into the round: into stored (`direct`) or into
// the round's merge buffer (added to it after the round's first push).
reduce_job sum_job(key_entry& e, std::vector<array_view> in, bool direct) {
  if (!direct && e.merge.is_none())
    e.merge = make_uninitialized(e.stored.shape(), e.stored.dtype(), e.stored.device());
  auto& dest = direct ? e.stored : e.merge;
  make_exclusive(dest);
  return reduce_job{std::move(in), array_view::whole(dest), !direct && !e.pushed.empty()};
}

}  // namespace

void do_push(shard_impl self, key_entry& e, part_request& m, bool remote, item_done done) {
  auto& st = self->state;
  int round_size = st.opts.sync ? st.opts.num_workers : 1;
  bool alone = round_size == 1;
  bool direct = alone && !st.updater.actor;  // stored = the sum: sum straight into it
  reduce_job job;
  auto why = refuse_push(self, e, m);
  if (!why && m.codec != 0)
    why = capture([&] { unpack_push(st, e, m); });
  bool as_is = !why && alone && !direct && gradient_as_is(e, m.inputs);
  if (!why && !as_is)
    why = capture([&] { job = sum_job(e, std::move(m.inputs), direct); });
  if (why) {
    done(std::move(why), ndarray());
    done_with(e);
    return;
  }
  if (as_is)
    // An alias with its own marks: the caller's array may already carry the
    // write mark of a later operation that waits for this one.
    e.grad = detail::unmarked_alias(m.inputs[0].array);
  auto joined = [self, &e, done, outputs = std::move(m.outputs), worker = m.worker,
                 sparse = m.sparse, rows = std::move(m.rows), remote, round_size,
                 direct](failure f) mutable {
    if (f) {  // the sum failed: the push does not join the round
      done(std::move(f), ndarray());
      done_with(e);
      return;
    }
    guarded(self, e, &done, [&] {
      note_rows(e, sparse, rows);
      join_round(self, e, worker, held_reply{done, std::move(outputs), remote, worker}, round_size,
                 direct);
    });
  };
  if (as_is)
    joined(std::nullopt);
  else
    run_reduce(self, runner(self), std::move(job), "reduce", std::move(joined));
}

void do_pull(shard_impl self, key_entry& e, part_request& m, bool remote, item_done done) {
  held_reply h{std::move(done), std::move(m.outputs), remote, m.worker};
  if (e.pushed.count(m.worker) > 0) {
    // This worker's own push is in the open round: answer after it.
    e.held.push_back(std::move(h));
    done_with(e);
    return;
  }
  std::vector<held_reply> one;
  one.push_back(std::move(h));
  deliver_value(self, e, std::move(one), std::nullopt);
}

}  // namespace kvs::detail
