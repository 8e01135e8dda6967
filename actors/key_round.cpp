// The work on one key of a shard: pushes join rounds, a complete round runs
// the updater once, pulls get the value; a round that waits too long fails
// naming the workers it waits for; late work never writes where later
// operations look (docs/distributed.md, "After a failed round").
#include <algorithm>
#include <cstdio>
#include <iterator>

#include "actors/device_job.hpp"
#include "actors/fault_log.hpp"
#include "actors/key_shard_state.hpp"
#include "actors/optimizer_updater.hpp"
#include "core/array_impl.hpp"
#include "core/element.hpp"
#include "core/log.hpp"
#include "core/optimizer_state_layout.hpp"
#include "core/row_ops.hpp"

namespace kvs::detail {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using done_fn = std::function<void(failure)>;

std::string in_ms(milliseconds d) { return std::to_string(d.count()) + " ms"; }

// ---- the open round: its deadline and its stall reports ---------------------
std::string missing_ranks(const shard_state& st, const key_entry& e) {
  std::string out;
  for (int32_t r = 0; r < st.opts.num_workers; ++r)
    if (e.pushed.count(r) == 0)
      out += (out.empty() ? "" : ", ") + std::to_string(r);
  return out;
}

void close_round(shard_impl self, key_entry& e) {
  auto& book = self->state.deadlines;
  if (e.round_timer != 0)
    book.close(e.round_timer);
  if (e.stall_timer != 0)
    book.close(e.stall_timer);
  e.round_timer = e.stall_timer = 0;
}

void arm_stall(shard_impl self, key_entry& e, uint64_t round);

void report_stall(shard_impl self, key_entry& e, uint64_t round) {
  e.stall_timer = 0;
  if (e.rounds != round || e.pushed.empty())
    return;
  char waited[32];
  std::snprintf(waited, sizeof(waited), "%.1f",
                std::chrono::duration<double>(clock::now() - e.round_since).count());
  auto line = "kvs: stall: the round of " + key_name(e) + " has waited " + waited +
              " s for worker ranks " + missing_ranks(self->state, e);
  log::warn(line);
  arm_stall(self, e, round);
}

void arm_stall(shard_impl self, key_entry& e, uint64_t round) {
  auto& st = self->state;
  e.stall_timer = st.deadlines.open(st.opts.stall_warning, "stall",
                                    [self, &e, round](kvs::error) { report_stall(self, e, round); });
  arm_tick(self, st.deadlines, st.opts.request_timeout);
}

void answer_held(shard_impl self, key_entry& e, failure err);

void time_out_round(shard_impl self, key_entry& e, uint64_t round) {
  auto& st = self->state;
  if (e.rounds != round || e.pushed.empty()) {  // it completed meanwhile
    done_with(e);
    return;
  }
  answer_held(self, e, kvs::error(errc::timeout, "the round of " + key_name(e) + " failed after " +
                                                     in_ms(st.opts.request_timeout) +
                                                     ": no push from worker ranks " +
                                                     missing_ranks(st, e)));
}

void open_round(shard_impl self, key_entry& e) {
  auto& st = self->state;
  auto round = ++e.rounds;
  e.round_timer = st.deadlines.open(st.opts.request_timeout, "round", [self, &e, round](kvs::error) {
    if (e.rounds == round)
      e.round_timer = 0;
    enqueue(e, [self, &e, round] { guarded(self, e, nullptr, [&] { time_out_round(self, e, round); }); });
  });
  if (st.opts.stall_warning.count() > 0 && st.opts.stall_warning < st.opts.request_timeout)
    arm_stall(self, e, round);
  arm_tick(self, st.deadlines, st.opts.request_timeout);
}

// ---- the timeline (core/telemetry.hpp) ---------------------------------------
// A stage of the key's round that ran from `since` (steady clock) until now.
void trace(shard_impl self, const key_entry& e, const char* stage, clock::time_point since) {
  auto& t = self->state.opts.telemetry;
  if (!t || !t->tracing())
    return;
  auto begin = std::chrono::system_clock::now() -
               std::chrono::duration_cast<std::chrono::system_clock::duration>(clock::now() - since);
  t->span(e.key, stage, begin, static_cast<int64_t>(e.stored.size() * size_of(e.stored.dtype())));
}

// ---- answers ---------------------------------------------------------------
}  // namespace

namespace {
// The rows a pull of rows asked for, gathered now: into its destination in
// process, else into the value it is answered with.
ndarray gather_answer(const key_entry& e, const held_reply& h) {
  auto len = row_length(e.stored.shape());
  if (h.remote) {
    kvs::shape s = e.stored.shape();
    s[0] = static_cast<int64_t>(h.rows.size());
    auto value = make_uninitialized(s, e.stored.dtype(), cpu());
    gather_rows(e.stored, h.rows, len, value, 0);
    return value;
  }
  for (auto& out : h.outputs) {
    if (out.count != h.rows.size() * len)
      throw kvs::error(errc::invalid_argument, "a pull of " + std::to_string(h.rows.size()) +
                                                   " rows of " + key_name(e) + " into " +
                                                   std::to_string(out.count) + " elements");
    check_job(copy_job{out, {}});
    gather_rows(e.stored, h.rows, len, out.array, out.offset);
  }
  return ndarray();
}
}  // namespace

namespace {
// Whether answers with the whole value are packed (compressed pulls of a
// summed float32 key).
bool packs_pulls(const shard_state& st, const key_entry& e) {
  return st.compression.pull && e.summed && e.stored.dtype() == dtype::f32;
}

// The worker of the first of the round's answers that will be packed, if
// any: the round's sum is packed for it as it is summed.
std::optional<int32_t> first_packed_answer(const shard_state& st, const key_entry& e) {
  if (!packs_pulls(st, e))
    return std::nullopt;
  for (auto& h : e.held)
    if (!h.select_rows && !h.outputs.empty())
      return h.worker;
  return std::nullopt;
}
}  // namespace

void deliver_value(shard_impl self, key_entry& e, std::vector<held_reply> all, failure err) {
  if (err) {
    for (auto& h : all)
      h.done(err, ndarray());
    done_with(e);
    return;
  }
  std::vector<held_reply> held;  // those that get the whole value
  for (auto& h : all) {
    if (!h.select_rows) {
      held.push_back(std::move(h));
      continue;
    }
    if (h.filled) {  // the update wrote its rows as it went
      h.done(std::nullopt, ndarray());
      continue;
    }
    ndarray value;
    auto f = capture([&] { value = gather_answer(e, h); });
    h.done(std::move(f), std::move(value));
  }
  if (!held.empty() && packs_pulls(self->state, e)) {  // every answer packed, in process too
    for (auto& h : held) {
      ndarray value;
      auto f = capture([&] {
        if (!h.outputs.empty())
          value = pack_answer(self->state, e, h.worker);
      });
      h.done(std::move(f), item_answer{std::move(value), h.gradient_rows});
    }
    held.clear();
  }
  if (held.empty()) {
    done_with(e);
    return;
  }
  copy_job job{array_view::whole(e.stored), {}};
  for (auto& h : held)
    if (!h.remote)
      job.dests.insert(job.dests.end(), h.outputs.begin(), h.outputs.end());
  run_copy(self, runner(self), std::move(job), "copy", [self, &e, held = std::move(held)](failure f) mutable {
    for (auto& h : held)
      h.done(f, item_answer{h.remote && !h.outputs.empty() ? e.stored : ndarray(),
                            h.gradient_rows});
    done_with(e);
  });
}

namespace {

// A failed round's pulls that rode with the push that completed it go
// back to the key, next, each served as sent alone right behind that push:
// whether a pull rides depends on timing; its answer must not (docs/values.md).
void serve_riders_alone(shard_impl self, key_entry& e, std::vector<held_reply>& held) {
  std::vector<held_reply> riders;
  for (auto i = held.begin(); i != held.end();) {
    if (!i->rode) {
      ++i;
      continue;
    }
    riders.push_back(std::move(*i));
    i = held.erase(i);
  }
  for (auto i = riders.rbegin(); i != riders.rend(); ++i) {  // each put first: in their order
    i->rode = false;
    i->filled = false;  // the failed update's pass may have written some rows: gathered afresh
    auto fail = i->done;
    enqueue_next(e, [self, &e, h = std::move(*i)]() mutable {
      auto done = h.done;
      guarded(self, e, &done, [&] {
        std::vector<held_reply> one;
        one.push_back(std::move(h));
        deliver_value(self, e, std::move(one), std::nullopt);
      });
    }, std::move(fail));
  }
}

// Ends the open round (completed or failed) and answers what it held.
void answer_held(shard_impl self, key_entry& e, failure err) {
  close_round(self, e);
  auto held = std::move(e.held);
  e.held.clear();
  if (err)
    serve_riders_alone(self, e, held);
  e.pushed.clear();
  e.packed_held.clear();  // a failed round's packed pushes: never summed
  e.deferred.clear();     // nor its deferred ones: their workers reuse the ranges once answered
  e.rows_held.clear();    // nor its row pushes (no mapped range is read after its answer)
  e.grad = ndarray();
  e.round_failure.reset();
  deliver_value(self, e, std::move(held), std::move(err));
}

// ---- updates, and updates that answer late -----------------------------------
void sweep_late(shard_impl self, key_entry& e) {
  auto& st = self->state;
  e.late_timer = 0;
  if (!e.late)
    return;
  auto t = st.opts.request_timeout;
  auto now = clock::now();
  auto oldest = fail_queued_before(
      e, now - t,
      kvs::error(errc::timeout, key_name(e) + " still waits for an update that timed out (its " +
                                    "updater has not answered); this request waited " + in_ms(t)));
  auto next = oldest ? std::max(std::chrono::duration_cast<milliseconds>(*oldest + t - now),
                                milliseconds(1))
                     : t;
  e.late_timer = st.deadlines.open(next, "late", [self, &e](kvs::error) { sweep_late(self, e); });
  arm_tick(self, st.deadlines, t);
}

void update_timed_out(shard_impl self, key_entry& e) {
  auto t = self->state.opts.request_timeout;
  e.late = true;  // the updater may still write stored and state: hold the key
  sweep_late(self, e);
  answer_held(self, e, kvs::error(errc::timeout, "update of " + key_name(e) +
                                                     ": the updater did not answer within " +
                                                     in_ms(t) + "; the key waits for it, and " +
                                                     "the update may still apply"));
}

void update_answered(shard_impl self, key_entry& e, uint64_t id, failure f) {
  auto& book = self->state.deadlines;
  if (book.close(id)) {
    guarded(self, e, nullptr, [&] { answer_held(self, e, std::move(f)); });
    return;
  }
  // A late answer: its round was answered at the deadline; free the key.
  e.late = false;
  if (e.late_timer != 0)
    book.close(e.late_timer);
  e.late_timer = 0;
  release(e);
}

// The state an updater keeps per key (core/optimizer_state_layout.hpp).
void ensure_state(const updater_setting& u, key_entry& e) {
  auto layout = optimizer_state_layout(e.stored.dtype(), e.stored.shape(), u.state_arrays,
                                       u.multi_precision);
  if (e.state.size() != layout.size())
    e.state = initial_optimizer_state(e.stored, layout);
}

// A lazy update of the rows of one push as they came (a row_sparse
// gradient) by the built-in optimizer runs here while the message's updates
// stay within inline_update_bound row elements: no hop to the updater's
// thread and back (two wake-ups), and a pull of the same rows right after
// finds them in this core's cache (docs/benchmarks.md, "sparse_pushpull").
// Others go to the detached updater: big updates must not hold a scheduler
// thread, however many keys one batch pushes.
bool updates_here(shard_state& st, const ndarray& grad) {
  if (!st.updater.built_in || grad.is_none() || grad.storage() != storage::row_sparse)
    return false;
  auto elements = static_cast<int64_t>(ndarray_access::impl(grad).rows.size());
  if (elements > st.opts.inline_update_bound - st.inline_update_spent)
    return false;
  st.inline_update_spent += elements;
  return true;
}

// The pull held by the round that asks, in this process or into a worker's
// shared memory landing range (checked on arrival), for exactly the
// rows of the lazy update's row_sparse gradient, into one host array of the
// weight's dtype: the update writes them as it goes (one pass over the
// table's rows, each copied out while in cache, instead of a second pass
// that gathers them). None: every pull is answered after the update.
held_reply* rows_pulled_in_pass(key_entry& e, const update_request& req) {
  if (req.grad.is_none() || req.grad.storage() != storage::row_sparse)
    return nullptr;
  auto& ids = ndarray_access::impl(req.grad).row_ids;
  auto len = row_length(e.stored.shape());
  for (auto& h : e.held) {
    if (!h.select_rows || h.remote || h.outputs.size() != 1 || h.rows != ids)
      continue;
    auto& out = h.outputs[0];
    // What update_and_copy_rows refuses must not fail the push's update.
    bool fits = out.count == ids.size() * len && !out.array.is_none() &&
                out.array.storage() == storage::dense &&
                out.array.dtype() == e.stored.dtype() && !on_gpu(out.array) &&
                !capture([&] { check_job(copy_job{out, {}}); });
    return fits ? &h : nullptr;
  }
  return nullptr;
}

void run_update(shard_impl self, key_entry& e) {
  auto& st = self->state;
  make_exclusive(e.stored);  // the updater writes into it
  ensure_state(st.updater, e);
  // The round's gradient: the only input as it was pushed, or the merge buffer.
  auto grad = e.grad.is_none() ? e.merge : e.grad;
  // The round's rows are moved, not copied (as note_rows): the next round's
  // first push sets them afresh. A row_sparse gradient carries them itself.
  update_request req{e.key,       grad,           e.stored,           e.state,
                     ++e.updates, e.round_sparse, std::move(e.round_rows)};
  e.round_rows.clear();
  e.grad = ndarray();  // do not keep a caller's input alive past the round
  if (updates_here(st, grad)) {
    grad = ndarray();
    auto t0 = clock::now();
    auto* pulled = rows_pulled_in_pass(e, req);
    auto f = apply_optimizer(*st.updater.built_in, req, pulled ? &pulled->outputs[0] : nullptr);
    if (pulled != nullptr && !f)
      pulled->filled = true;
    trace(self, e, pulled != nullptr ? "update+pull" : "update", t0);
    answer_held(self, e, std::move(f));
    return;
  }
  auto id = st.deadlines.open(st.opts.request_timeout, "update", [self, &e](kvs::error) {
    guarded(self, e, nullptr, [&] { update_timed_out(self, e); });
  });
  arm_tick(self, st.deadlines, st.opts.request_timeout);
  self->request(st.updater.actor, caf::infinite, update_atom::value, std::move(req))
      .then([self, &e, id, t0 = clock::now()] {
              trace(self, e, "update", t0);
              contain("an update", [&] { update_answered(self, e, id, std::nullopt); });
            },
            [self, &e, id](caf::error& err) {
              contain("an update", [&] {
                update_answered(self, e, id, from_caf_error(err, "update of " + key_name(e)));
              });
            });
}

void complete_round(shard_impl self, key_entry& e, bool summed_into_stored) {
  trace(self, e, "round", e.round_since);  // from its first push to its last
  if (!e.round_failure) {
    auto last = new_pull_sum(e);            // a new sum: pulls pack it afresh
    e.summed = !self->state.updater.actor;  // stored is a sum of gradients
    try {  // the packed pushes, in one pass, packing the sum for the first pull
      sum_held_pushes(self->state, e, first_packed_answer(self->state, e));
      sum_held_rows(e);  // or the held row pushes, into the round's gradient
    } catch (...) {  // the round fails (guarded); stored stays the last sum: so do its answers
      restore_pull_sum(e, std::move(last));
      throw;
    }
  }
  if (e.round_failure) {  // a worker could not push: nothing was summed, nothing updates
    auto& f = *e.round_failure;
    answer_held(self, e, kvs::error(f.code(), "the round of " + key_name(e) + " failed: " + f.what()));
  } else if (summed_into_stored) {
    answer_held(self, e, std::nullopt);
  } else if (self->state.updater.actor) {
    run_update(self, e);
  } else {
    std::swap(e.stored, e.merge);  // stored = sum; the old buffer serves the next round
    e.merge_rows.reset();
    answer_held(self, e, std::nullopt);
  }
}

}  // namespace

void make_exclusive(ndarray& a) {
  if (a.is_none() || ndarray_access::use_count(a) == 1)
    return;
  a = a.copy_to(a.device());
}

job_runner runner(shard_impl self) {
  auto& st = self->state;
  return job_runner{st.reducers, st.opts.inline_bound, st.opts.request_timeout, st.deadlines};
}

void done_with(key_entry& e) {
  if (!e.late)
    release(e);
}

void join_round(shard_impl self, key_entry& e, int32_t worker, held_reply h, int round_size,
                bool direct) {
  bool first = e.pushed.empty();
  if (first)  // the round starts (a round of one push also ends here: its timeline span)
    e.round_since = clock::now();
  e.pushed.insert(worker);
  e.held.push_back(std::move(h));
  bool completes = static_cast<int>(e.pushed.size()) >= round_size;
  auto& riding = self->state.riding;
  if (riding && riding->entry == &e && riding->request.worker == worker) {
    auto pull = std::move(*riding);  // held by this round, after the push
    riding.reset();
    auto before = e.held.size();
    hold_pull(e, pull.request, pull.remote, std::move(pull.done));
    // Sent alone, it would find this round ended (completes) or held by it.
    if (completes && e.held.size() > before)
      e.held.back().rode = true;
  }
  if (completes) {
    complete_round(self, e, direct);
    return;
  }
  if (first)
    open_round(self, e);
  done_with(e);
}

void fail_round(shard_impl self, key_entry& e, const kvs::error& err) {
  if (e.held.empty() && e.pushed.empty()) {
    done_with(e);
    return;
  }
  answer_held(self, e, kvs::error(err.code(), std::string(err.what()) + ": the round of " +
                                                  key_name(e) + " cannot complete"));
}

void recover(shard_impl self, key_entry& e, const item_done* also, const kvs::error& err) {
  kvs::error named(err.code(), key_name(e) + ": " + err.what());
  auto f = capture([&] {
    if (also != nullptr && *also)
      (*also)(named, ndarray());
    if (!e.held.empty() || !e.pushed.empty())
      answer_held(self, e, named);
    else
      done_with(e);
  });
  if (f) {
    log_fault("key shard, recovering " + key_name(e), *f);
    done_with(e);
  }
}

}  // namespace kvs::detail
