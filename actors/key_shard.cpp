#include "actors/key_shard.hpp"

#include <algorithm>
#include <deque>
#include <iterator>
#include <functional>
#include <optional>
#include <set>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/timed_request.hpp"
#include "core/array_impl.hpp"
#include "core/cpu_kernels.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

using failure = std::optional<kvs::error>;
using done_fn = std::function<void(failure)>;
using reply_promise = caf::typed_response_promise<ok_atom>;

struct entry_id {
  kvs::key key;
  uint32_t part;
  bool operator==(const entry_id& o) const { return part == o.part && key == o.key; }
};

struct entry_id_hash {
  size_t operator()(const entry_id& x) const { return key_hash{}(x.key) * 31u + x.part; }
};

// A push or pull waiting for the open round to complete.
struct held_reply {
  reply_promise rp;
  std::vector<array_view> outputs;
};

struct key_entry {
  kvs::key key;
  ndarray stored;               // the value (or part) this shard owns
  ndarray merge;                // the round's sum when it cannot land in stored
  std::vector<ndarray> state;   // optimizer state kept beside the key
  uint64_t updates = 0;         // updates applied: the optimizer's t
  std::set<int32_t> pushed;     // workers that pushed in the open round
  std::vector<held_reply> held;
  ndarray grad;                 // the round's gradient: merge, or the only input
  bool round_sparse = false;    // every push of the round was row_sparse...
  std::vector<int64_t> round_rows;  // ...touching these rows
  // Operations on one key run one at a time, in arrival order.
  bool busy = false, draining = false;
  std::deque<std::function<void()>> waiting;
};

struct shard_state {
  reducer_actor reducer;
  updater_setting updater;
  shard_options opts;
  std::unordered_map<entry_id, key_entry, entry_id_hash> entries;
  detail::deadline_book deadlines;
};

using shard_impl = shard_actor::stateful_pointer<shard_state>;

void run_next(key_entry& e) {
  e.draining = true;
  while (!e.busy && !e.waiting.empty()) {
    auto task = std::move(e.waiting.front());
    e.waiting.pop_front();
    e.busy = true;
    task();
  }
  e.draining = false;
}

void enqueue(key_entry& e, std::function<void()> task) {
  e.waiting.push_back(std::move(task));
  if (!e.busy && !e.draining)
    run_next(e);
}

void release(key_entry& e) {
  e.busy = false;
  if (!e.draining)
    run_next(e);
}

failure run_inline(const std::function<void()>& body) {
  try {
    body();
  } catch (const kvs::error& err) {
    return err;
  } catch (const std::exception& ex) {
    return kvs::error(errc::invalid_argument, ex.what());
  }
  return std::nullopt;
}

// Small jobs run here; big ones go to the reducer actor (its threads).
void reduce(shard_impl self, reduce_job job, done_fn done) {
  auto& st = self->state;
  if (static_cast<int64_t>(job.dest.count) <= st.opts.inline_bound) {
    done(run_inline([&] {
      detail::check_job(job);
      detail::sum_range(job, 0, job.dest.count);
    }));
    return;
  }
  detail::timed_request<ok_atom>(
      self, st.deadlines, st.opts.request_timeout, st.reducer, "reduce",
      [done](ok_atom) { done(std::nullopt); }, [done](kvs::error err) { done(std::move(err)); },
      reduce_atom::value, std::move(job));
}

void copy_out(shard_impl self, copy_job job, done_fn done) {
  auto& st = self->state;
  if (job.dests.empty() || static_cast<int64_t>(job.source.count) <= st.opts.inline_bound) {
    done(run_inline([&] {
      detail::check_job(job);
      detail::copy_range(job, 0, job.source.count);
    }));
    return;
  }
  detail::timed_request<ok_atom>(
      self, st.deadlines, st.opts.request_timeout, st.reducer, "copy",
      [done](ok_atom) { done(std::nullopt); }, [done](kvs::error err) { done(std::move(err)); },
      copy_atom::value, std::move(job));
}

// Answers every held push and pull of a completed (or failed) round.
void answer_held(shard_impl self, key_entry& e, failure err) {
  auto held = std::move(e.held);
  e.held.clear();
  e.pushed.clear();
  auto deliver_all = [held](failure f) mutable {
    for (auto& h : held) {
      if (f)
        h.rp.deliver(to_caf_error(*f));
      else
        h.rp.deliver(ok_atom::value);
    }
  };
  if (err) {
    deliver_all(err);
    release(e);
    return;
  }
  copy_job job{array_view::whole(e.stored), {}};
  for (auto& h : held)
    job.dests.insert(job.dests.end(), h.outputs.begin(), h.outputs.end());
  copy_out(self, std::move(job), [&e, deliver_all](failure f) mutable {
    deliver_all(f);
    release(e);
  });
}

// The state an updater keeps per key: zeros (fp32 with multi_precision),
// then the fp32 master copy of a 16-bit weight.
void ensure_state(const updater_setting& u, key_entry& e) {
  auto wt = e.stored.dtype();
  bool half = wt == dtype::f16 || wt == dtype::bf16;
  size_t want = u.state_arrays + (u.multi_precision && half ? 1 : 0);
  if (e.state.size() == want)
    return;
  e.state.clear();
  auto st = u.multi_precision && half ? dtype::f32 : wt;
  for (uint32_t i = 0; i < u.state_arrays; ++i)
    e.state.push_back(ndarray::zeros(e.stored.shape(), st));
  if (want > u.state_arrays) {
    auto master = ndarray::zeros(e.stored.shape(), dtype::f32);
    auto v = e.stored.to_vector<float>();
    std::copy(v.begin(), v.end(), static_cast<float*>(detail::ndarray_access::raw(master)));
    e.state.push_back(master);
  }
}

void complete_round(shard_impl self, key_entry& e, bool summed_into_stored) {
  auto& st = self->state;
  if (summed_into_stored) {
    answer_held(self, e, std::nullopt);
  } else if (st.updater.actor) {
    ensure_state(st.updater, e);
    update_request req{e.key,     e.grad,         e.stored,       e.state,
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
void note_rows(key_entry& e, const part_push& m) {
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

void do_push(shard_impl self, key_entry& e, part_push& m, reply_promise rp) {
  auto& st = self->state;
  if (e.pushed.count(m.worker) > 0) {
    rp.deliver(to_caf_error(errc::invalid_argument,
                            "worker " + std::to_string(m.worker) + " pushed key " +
                                e.key.to_string() + " twice in one round"));
    release(e);
    return;
  }
  note_rows(e, m);
  auto outputs = std::move(m.outputs);
  int32_t worker = m.worker;
  bool alone = st.opts.num_workers == 1;
  // One worker and no updater: stored = sum, so sum straight into stored.
  bool direct = alone && !st.updater.actor;
  auto finish = [self, &e, rp, outputs, worker, direct](failure f) mutable {
    if (f) {
      rp.deliver(to_caf_error(*f));
      release(e);
      return;
    }
    e.pushed.insert(worker);
    e.held.push_back(held_reply{rp, std::move(outputs)});
    if (static_cast<int>(e.pushed.size()) >= self->state.opts.num_workers)
      complete_round(self, e, direct);
    else
      release(e);
  };
  // One worker, one whole input, an updater: the input is the gradient as
  // it is (the caller's array stays marked until the round is answered).
  if (alone && !direct && m.inputs.size() == 1 && m.inputs[0].offset == 0 &&
      m.inputs[0].count == m.inputs[0].array.size() &&
      m.inputs[0].array.shape() == e.stored.shape() &&
      m.inputs[0].array.dtype() == e.stored.dtype()) {
    e.grad = m.inputs[0].array;
    finish(std::nullopt);
    return;
  }
  if (!direct && e.merge.is_none())
    e.merge = detail::make_uninitialized(e.stored.shape(), e.stored.dtype());
  ndarray dest = direct ? e.stored : e.merge;
  e.grad = direct ? ndarray() : e.merge;
  reduce_job job{std::move(m.inputs), array_view::whole(dest), !direct && !e.pushed.empty()};
  reduce(self, std::move(job), std::move(finish));
}

void do_pull(shard_impl self, key_entry& e, part_pull& m, reply_promise rp) {
  if (e.pushed.count(m.worker) > 0) {
    // This worker's own push is in the open round: answer after it.
    e.held.push_back(held_reply{rp, std::move(m.outputs)});
    release(e);
    return;
  }
  copy_out(self, copy_job{array_view::whole(e.stored), std::move(m.outputs)},
           [&e, rp](failure f) mutable {
             if (f)
               rp.deliver(to_caf_error(*f));
             else
               rp.deliver(ok_atom::value);
             release(e);
           });
}

key_entry* find(shard_impl self, const part_id& id) {
  auto i = self->state.entries.find(entry_id{id.key, id.part});
  return i == self->state.entries.end() ? nullptr : &i->second;
}

caf::error not_initialized(const part_id& id) {
  return to_caf_error(errc::key_not_initialized,
                      "key " + id.key.to_string() + " (part " + std::to_string(id.part) +
                          ") is not initialized on this shard");
}

shard_actor::behavior_type key_shard(shard_impl self, reducer_actor reducer, shard_options opts) {
  self->state.reducer = std::move(reducer);
  self->state.opts = opts;
  return {
      [=](init_atom, part_init& m) -> caf::result<ok_atom> {
        entry_id id{m.id.key, m.id.part};
        if (self->state.entries.count(id) > 0)
          return to_caf_error(errc::duplicate_init, "key " + m.id.key.to_string() +
                                                        " is already initialized");
        auto& v = m.value;
        bool whole = v.offset == 0 && v.count == v.array.size();
        kvs::shape s = whole ? v.array.shape() : kvs::shape{static_cast<int64_t>(v.count)};
        ndarray stored;
        auto f = run_inline([&] {
          stored = detail::make_uninitialized(s, v.array.dtype());
          copy_job job{v, {array_view::whole(stored)}};
          detail::check_job(job);
          detail::copy_range(job, 0, v.count);
        });
        if (f)
          return to_caf_error(*f);
        auto& e = self->state.entries[id];
        e.key = m.id.key;
        e.stored = std::move(stored);
        return ok_atom::value;
      },
      [=](push_atom, part_push& m) -> caf::result<ok_atom> {
        auto* e = find(self, m.id);
        if (e == nullptr)
          return not_initialized(m.id);
        auto rp = self->make_response_promise<ok_atom>();
        enqueue(*e, [self, e, m = std::move(m), rp]() mutable { do_push(self, *e, m, rp); });
        return rp;
      },
      [=](pull_atom, part_pull& m) -> caf::result<ok_atom> {
        auto* e = find(self, m.id);
        if (e == nullptr)
          return not_initialized(m.id);
        auto rp = self->make_response_promise<ok_atom>();
        enqueue(*e, [self, e, m = std::move(m), rp]() mutable { do_pull(self, *e, m, rp); });
        return rp;
      },
      [=](tick_atom) {
        detail::on_tick(self, self->state.deadlines, self->state.opts.request_timeout);
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

shard_actor spawn_key_shard(caf::actor_system& sys, reducer_actor reducer, shard_options opts) {
  return sys.spawn(key_shard, std::move(reducer), opts);
}

}  // namespace kvs
