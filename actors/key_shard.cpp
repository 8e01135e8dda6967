#include "actors/key_shard.hpp"

#include <algorithm>
#include <iterator>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/cpu_kernels.hpp"
#include "actors/device_job.hpp"
#include "actors/key_entry.hpp"
#include "actors/staging.hpp"
#include "core/array_impl.hpp"
#include "core/optimizer_state_layout.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

using detail::failure;
using detail::held_reply;
using detail::item_done;
using detail::key_entry;
using detail::release;

struct entry_id {
  kvs::key key;
  uint32_t part;
  bool operator==(const entry_id& o) const { return part == o.part && key == o.key; }
};

struct entry_id_hash {
  size_t operator()(const entry_id& x) const { return key_hash{}(x.key) * 31u + x.part; }
};

struct shard_state {
  reducer_set reducers;
  updater_setting updater;
  shard_options opts;
  std::unordered_map<entry_id, key_entry, entry_id_hash> entries;
  std::set<int32_t> dead_workers;
  detail::deadline_book deadlines;
};

using shard_impl = shard_actor::stateful_pointer<shard_state>;
using done_fn = std::function<void(failure)>;

detail::job_runner runner(shard_impl self) {
  auto& st = self->state;
  return detail::job_runner{st.reducers, st.opts.inline_bound, st.opts.request_timeout,
                            st.deadlines};
}

void reduce(shard_impl self, reduce_job job, done_fn done) {
  detail::run_reduce(self, runner(self), std::move(job), "reduce", std::move(done));
}

void copy_out(shard_impl self, copy_job job, done_fn done) {
  detail::run_copy(self, runner(self), std::move(job), "copy", std::move(done));
}

// Before the shard writes into `a` (stored or merge): if an answer still on
// its way to another process holds it, write into a copy instead, so the
// answer is serialized with the value it was given (copy-on-write).
void make_exclusive(ndarray& a) {
  if (a.is_none() || detail::ndarray_access::use_count(a) == 1)
    return;
  a = a.copy_to(a.device());
}

// Delivers the stored value to every waiting reply: written into in-process
// outputs; for requesters in other processes the answer carries the stored
// array itself (serialized later; make_exclusive keeps it unchanged).
void deliver_value(shard_impl self, key_entry& e, std::vector<held_reply> held, failure err) {
  if (err) {
    for (auto& h : held)
      h.done(err, ndarray());
    release(e);
    return;
  }
  copy_job job{array_view::whole(e.stored), {}};
  for (auto& h : held)
    if (!h.remote)
      job.dests.insert(job.dests.end(), h.outputs.begin(), h.outputs.end());
  copy_out(self, std::move(job), [&e, held](failure f) mutable {
    for (auto& h : held)
      h.done(f, h.remote && !h.outputs.empty() ? e.stored : ndarray());
    release(e);
  });
}

void answer_held(shard_impl self, key_entry& e, failure err) {
  auto held = std::move(e.held);
  e.held.clear();
  e.pushed.clear();
  deliver_value(self, e, std::move(held), std::move(err));
}

// The state an updater keeps per key (core/optimizer_state_layout.hpp).
void ensure_state(const updater_setting& u, key_entry& e) {
  auto layout = detail::optimizer_state_layout(e.stored.dtype(), e.stored.shape(), u.state_arrays,
                                               u.multi_precision);
  if (e.state.size() != layout.size())
    e.state = detail::initial_optimizer_state(e.stored, layout);
}

void complete_round(shard_impl self, key_entry& e, bool summed_into_stored) {
  auto& st = self->state;
  if (summed_into_stored) {
    answer_held(self, e, std::nullopt);
  } else if (st.updater.actor) {
    make_exclusive(e.stored);  // the updater writes into it
    ensure_state(st.updater, e);
    // The round's gradient: the only input as it was pushed, or the merge buffer.
    auto grad = e.grad.is_none() ? e.merge : e.grad;
    update_request req{e.key,       grad,           e.stored,      e.state,
                       ++e.updates, e.round_sparse, e.round_rows};
    e.grad = ndarray();  // do not keep a caller's input alive past the round
    detail::timed_request<void>(
        self, st.deadlines, st.opts.request_timeout, st.updater.actor,
        "update of key " + e.key.to_string(), [self, &e] { answer_held(self, e, std::nullopt); },
        [self, &e](kvs::error err) { answer_held(self, e, std::move(err)); }, update_atom::value,
        std::move(req));
  } else {
    std::swap(e.stored, e.merge);  // stored = sum; the old buffer serves the next round
    answer_held(self, e, std::nullopt);
  }
}

// Tracks whether the whole round's gradient was row_sparse, and its rows.
void note_rows(key_entry& e, const part_request& m) {
  if (e.pushed.empty()) {
    e.round_sparse = m.sparse;
    e.round_rows = m.rows;
    return;
  }
  e.round_sparse = e.round_sparse && m.sparse;
  std::vector<int64_t> merged;
  std::set_union(e.round_rows.begin(), e.round_rows.end(), m.rows.begin(), m.rows.end(),
                 std::back_inserter(merged));
  e.round_rows = std::move(merged);
}

// Why a push cannot join a round, if it cannot.
failure refuse_push(shard_impl self, key_entry& e, const part_request& m) {
  auto& st = self->state;
  if (e.pushed.count(m.worker) > 0)
    return kvs::error(errc::invalid_argument, "worker " + std::to_string(m.worker) +
                                                  " pushed key " + e.key.to_string() +
                                                  " twice in one round");
  if (st.opts.sync && !st.dead_workers.empty())
    return kvs::error(errc::peer_down, "worker rank " + std::to_string(*st.dead_workers.begin()) +
                                           " is down: the round of key " + e.key.to_string() +
                                           " cannot complete");
  if (!st.opts.sync && !st.updater.actor)
    return kvs::error(errc::invalid_argument, "dist_async applies each push with the optimizer: "
                                              "call set_optimizer before pushing key " +
                                                  e.key.to_string());
  return std::nullopt;
}

void do_push(shard_impl self, key_entry& e, part_request& m, bool remote, item_done done) {
  auto& st = self->state;
  if (auto why = refuse_push(self, e, m)) {
    done(why, ndarray());
    release(e);
    return;
  }
  note_rows(e, m);
  int round_size = st.opts.sync ? st.opts.num_workers : 1;
  bool alone = round_size == 1;
  // One worker per round and no updater: stored = sum, so sum straight into stored.
  bool direct = alone && !st.updater.actor;
  auto finish = [self, &e, done, outputs = std::move(m.outputs), worker = m.worker, direct,
                 remote, round_size](failure f) mutable {
    if (f) {
      done(f, ndarray());
      release(e);
      return;
    }
    e.pushed.insert(worker);
    e.held.push_back(held_reply{std::move(done), std::move(outputs), remote});
    if (static_cast<int>(e.pushed.size()) >= round_size)
      complete_round(self, e, direct);
    else
      release(e);
  };
  // One push per round, one whole input, an updater: the input is the
  // gradient as it is (the requester's array stays marked until answered).
  auto& in = m.inputs;
  if (alone && !direct && in.size() == 1 && in[0].offset == 0 && in[0].count == in[0].array.size() &&
      in[0].array.size() == e.stored.size() && in[0].array.dtype() == e.stored.dtype()) {
    // An alias with its own marks: the caller's array may already carry the
    // write mark of a later operation that waits for this one.
    e.grad = detail::unmarked_alias(in[0].array);
    finish(std::nullopt);
    return;
  }
  if (!direct && e.merge.is_none())
    e.merge = detail::make_uninitialized(e.stored.shape(), e.stored.dtype(), e.stored.device());
  make_exclusive(direct ? e.stored : e.merge);
  ndarray dest = direct ? e.stored : e.merge;
  reduce_job job{std::move(in), array_view::whole(dest), !direct && !e.pushed.empty()};
  reduce(self, std::move(job), std::move(finish));
}

void do_pull(shard_impl self, key_entry& e, part_request& m, bool remote, item_done done) {
  held_reply h{std::move(done), std::move(m.outputs), remote};
  if (e.pushed.count(m.worker) > 0) {
    // This worker's own push is in the open round: answer after it.
    e.held.push_back(std::move(h));
    release(e);
    return;
  }
  std::vector<held_reply> one;
  one.push_back(std::move(h));
  deliver_value(self, e, std::move(one), std::nullopt);
}

failure do_init(shard_impl self, part_request& m) {
  entry_id id{m.id.key, m.id.part};
  if (self->state.entries.count(id) > 0)
    return kvs::error(errc::duplicate_init, "key " + m.id.key.to_string() + " is already initialized");
  if (m.inputs.size() != 1)
    return kvs::error(errc::invalid_argument, "init of key " + m.id.key.to_string() +
                                                  " needs exactly one value");
  auto& v = m.inputs[0];
  bool whole = v.offset == 0 && v.count == v.array.size();
  ndarray stored;
  auto f = detail::capture([&] {
    kvs::shape s = whole ? v.array.shape() : kvs::shape{static_cast<int64_t>(v.count)};
    stored = detail::make_uninitialized(s, v.array.dtype(), m.on_gpu ? gpu(m.gpu_id) : cpu());
    detail::check_job(copy_job{v, {array_view::whole(stored)}});
    detail::copy_elements(v.array, v.offset, stored, 0, v.count);
  });
  if (f)
    return f;
  auto& e = self->state.entries[id];
  e.key = m.id.key;
  e.stored = std::move(stored);
  return std::nullopt;
}

void serve_item(shard_impl self, part_request& m, bool remote, item_done done) {
  if (m.op == part_op::init) {
    done(do_init(self, m), ndarray());
    return;
  }
  auto i = self->state.entries.find(entry_id{m.id.key, m.id.part});
  if (i == self->state.entries.end()) {
    done(kvs::error(errc::key_not_initialized, "key " + m.id.key.to_string() + " (part " +
                                                   std::to_string(m.id.part) +
                                                   ") is not initialized on this shard"),
         ndarray());
    return;
  }
  auto* e = &i->second;
  detail::enqueue(*e, [self, e, m = std::move(m), remote, done]() mutable {
    if (m.op == part_op::push)
      do_push(self, *e, m, remote, std::move(done));
    else
      do_pull(self, *e, m, remote, std::move(done));
  });
}

void fail_open_rounds(shard_impl self, int32_t rank) {
  kvs::error err(errc::peer_down, "worker rank " + std::to_string(rank) + " is down");
  for (auto& [id, entry] : self->state.entries) {
    auto* e = &entry;
    detail::enqueue(*e, [self, e, err] {
      if (e->held.empty()) {
        release(*e);
        return;
      }
      answer_held(self, *e, kvs::error(errc::peer_down, std::string(err.what()) +
                                                            ": the round of key " +
                                                            e->key.to_string() + " cannot complete"));
    });
  }
}

shard_actor::behavior_type key_shard(shard_impl self, reducer_set reducers, shard_options opts) {
  self->state.reducers = std::move(reducers);
  self->state.opts = opts;
  return {
      [=](batch_atom, part_batch& batch) -> caf::result<batch_reply> {
        auto& sender = self->current_sender();
        bool remote = sender != nullptr && sender->node() != self->node();
        auto rp = self->make_response_promise<batch_reply>();
        auto n = batch.items.size();
        auto reply = std::make_shared<batch_reply>();
        reply->results.resize(n);
        auto remaining = std::make_shared<size_t>(n);
        if (n == 0)
          rp.deliver(batch_reply{});
        for (size_t i = 0; i < n; ++i)
          serve_item(self, batch.items[i], remote, [rp, reply, remaining, i](failure f, ndarray v) mutable {
            detail::reply(reply->results[i], f, std::move(v));
            if (--*remaining == 0)
              rp.deliver(std::move(*reply));
          });
        return rp;
      },
      [=](tick_atom) {
        detail::on_tick(self, self->state.deadlines, self->state.opts.request_timeout);
      },
      [=](sync_atom, bool sync) -> ok_atom {
        self->state.opts.sync = sync;
        return ok_atom::value;
      },
      [=](worker_down_atom, int32_t rank) {
        self->state.dead_workers.insert(rank);
        if (self->state.opts.sync)
          fail_open_rounds(self, rank);
      },
      [=](updater_atom, updater_setting& setting) -> ok_atom {
        // A new updater starts from empty state, as a new MXNet updater does.
        self->state.updater = std::move(setting);
        for (auto& [id, e] : self->state.entries) {
          e.state.clear();
          e.updates = 0;
        }
        return ok_atom::value;
      },
      [=](save_atom) -> std::vector<key_state> {
        std::vector<key_state> out;
        for (auto& [id, e] : self->state.entries) {
          key_state ks{id.key, id.part, e.updates, {}};
          for (auto& a : e.state)  // a snapshot: later rounds must not change it
            ks.arrays.push_back(a.copy_to(a.device()));
          out.push_back(std::move(ks));
        }
        return out;
      },
      [=](load_atom, std::vector<key_state>& states, bool with_counts) -> ok_atom {
        for (auto& [id, e] : self->state.entries) {
          e.state.clear();
          if (with_counts)
            e.updates = 0;
        }
        for (auto& ks : states) {
          auto i = self->state.entries.find(entry_id{ks.key, ks.part});
          if (i == self->state.entries.end())
            continue;  // another shard's key
          i->second.state = std::move(ks.arrays);
          if (with_counts)
            i->second.updates = ks.count;
        }
        return ok_atom::value;
      },
  };
}

}  // namespace

shard_actor spawn_key_shard(caf::actor_system& sys, reducer_set reducers, shard_options opts) {
  return sys.spawn(key_shard, std::move(reducers), opts);
}

}  // namespace kvs
