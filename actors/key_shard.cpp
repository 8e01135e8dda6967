#include "actors/key_shard.hpp"

#include <caf/all.hpp>

#include "actors/fault_log.hpp"
#include "actors/key_shard_state.hpp"
#include "actors/staging.hpp"
#include "core/array_impl.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

using detail::entry_id;
using detail::failure;
using detail::item_done;
using detail::key_entry;
using detail::shard_impl;

// More state arrays than any optimizer keeps: a malformed setting.
constexpr uint32_t max_state_arrays = 16;

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
    detail::check_job(copy_job{v, {}});
    kvs::shape s = whole ? v.array.shape() : kvs::shape{static_cast<int64_t>(v.count)};
    stored = detail::make_uninitialized(s, v.array.dtype(), m.on_gpu ? gpu(m.gpu_id) : cpu());
    detail::check_job(copy_job{v, {array_view::whole(stored)}});
    detail::copy_elements(v.array, v.offset, stored, 0, v.count);
  });
  if (f)
    return f;
  auto& e = self->state.entries[id];
  e.key = m.id.key;
  e.part = m.id.part;
  e.stored = std::move(stored);
  return std::nullopt;
}

void serve_item(shard_impl self, part_request& m, bool remote, item_done done) {
  if (m.op == part_op::init) {
    done(do_init(self, m), ndarray());
    return;
  }
  if (m.op != part_op::push && m.op != part_op::pull) {
    done(kvs::error(errc::invalid_argument, "unknown operation " +
                                                std::to_string(static_cast<int>(m.op)) +
                                                " on key " + m.id.key.to_string()),
         ndarray());
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
  auto fail = done;
  detail::enqueue(
      *e,
      [self, e, m = std::move(m), remote, done]() mutable {
        detail::guarded(self, *e, &done, [&] {
          if (m.op == part_op::push)
            detail::do_push(self, *e, m, remote, done);
          else
            detail::do_pull(self, *e, m, remote, done);
        });
      },
      std::move(fail));
}

// The answers to one batch: each request is answered once (a second answer,
// after an error was already given, is dropped); the batch when all are.
struct batch_answer {
  caf::typed_response_promise<batch_reply> rp;
  batch_reply reply;
  std::vector<bool> answered;
  size_t remaining = 0;
};

void serve_batch(shard_impl self, part_batch& batch, bool remote,
                 caf::typed_response_promise<batch_reply> rp) {
  auto n = batch.items.size();
  if (n == 0) {
    rp.deliver(batch_reply{});
    return;
  }
  auto ba = std::make_shared<batch_answer>();
  ba->rp = std::move(rp);
  ba->reply.results.resize(n);
  ba->answered.assign(n, false);
  ba->remaining = n;
  for (size_t i = 0; i < n; ++i) {
    item_done answer = [ba, i](failure f, ndarray v) {
      if (ba->answered[i])
        return;
      ba->answered[i] = true;
      detail::reply(ba->reply.results[i], f, std::move(v));
      if (--ba->remaining == 0)
        ba->rp.deliver(std::move(ba->reply));
    };
    if (detail::answers_by_plane(batch.items[i]))
      answer = detail::answer_by_plane(self, batch.items[i], std::move(answer));
    serve_item(self, batch.items[i], remote, std::move(answer));
  }
}

// A copy of every key's optimizer state, each taken on its key's turn (never
// while an update writes it).
void save_states(shard_impl self, caf::typed_response_promise<std::vector<key_state>> rp) {
  struct progress {
    std::vector<key_state> out;
    failure first;
    size_t remaining;
  };
  auto& entries = self->state.entries;
  auto pr = std::make_shared<progress>(progress{{}, std::nullopt, entries.size() + 1});
  auto one_done = [pr, rp](failure f) mutable {
    if (f && !pr->first)
      pr->first = std::move(f);
    if (--pr->remaining == 0)
      detail::reply(rp, pr->first, std::move(pr->out));
  };
  for (auto& [id, entry] : entries) {
    auto* e = &entry;
    auto part = id.part;
    detail::enqueue(
        *e,
        [self, e, part, pr, one_done]() mutable {
          one_done(detail::capture([&] {
            key_state ks{e->key, part, e->updates, {}};
            for (auto& a : e->state)  // a snapshot: later rounds must not change it
              ks.arrays.push_back(a.copy_to(a.device()));
            pr->out.push_back(std::move(ks));
          }));
          detail::done_with(*e);
        },
        [one_done](failure f, ndarray) mutable { one_done(std::move(f)); });
  }
  one_done(std::nullopt);
}

void load_states(shard_impl self, std::vector<key_state>& states, bool with_counts) {
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
}

failure set_updater(shard_impl self, updater_setting& setting) {
  if (setting.state_arrays > max_state_arrays)
    return kvs::error(errc::invalid_argument,
                      "an updater setting with " + std::to_string(setting.state_arrays) +
                          " state arrays per key (at most " + std::to_string(max_state_arrays) + ")");
  // A new updater starts from empty state, as a new MXNet updater does.
  self->state.updater = std::move(setting);
  for (auto& [id, e] : self->state.entries) {
    e.state.clear();
    e.updates = 0;
  }
  return std::nullopt;
}

void worker_down(shard_impl self, int32_t rank) {
  self->state.dead_workers.insert(rank);
  if (!self->state.opts.sync)
    return;
  kvs::error err(errc::peer_down, "worker rank " + std::to_string(rank) + " is down");
  for (auto& [id, entry] : self->state.entries) {
    auto* e = &entry;
    detail::enqueue(*e, [self, e, err] {
      detail::guarded(self, *e, nullptr, [&] { detail::fail_round(self, *e, err); });
    });
  }
}

shard_actor::behavior_type key_shard(shard_impl self, reducer_set reducers, shard_options opts) {
  self->state.reducers = std::move(reducers);
  self->state.opts = opts;
  // Every handler turns what its work throws into an error answer (or, with
  // no request to answer, a line on stderr): CAF would end the shard.
  return {
      [=](batch_atom, part_batch& batch) -> caf::result<batch_reply> {
        auto& sender = self->current_sender();
        bool remote = sender != nullptr && sender->node() != self->node();
        auto rp = self->make_response_promise<batch_reply>();
        if (auto f = detail::capture(
                [&] { detail::accept_batch(self, batch, remote, rp, &serve_batch); }))
          detail::reply(rp, f, batch_reply{});
        return rp;
      },
      [=](tick_atom) {
        auto& st = self->state;
        if (auto f = detail::capture([&] { detail::on_tick(self, st.deadlines, st.opts.request_timeout); })) {
          detail::log_fault("key shard, deadlines", *f);
          detail::arm_tick(self, st.deadlines, st.opts.request_timeout);
        }
      },
      [=](plane_atom, const plane_hello& worker) { return detail::answer_hello(self, worker); },
      [=](plane_done_atom, uint64_t token, uint8_t code, std::string& message) {
        if (auto f = detail::capture(
                [&] { detail::transfer_done(self, token, code, std::move(message)); }))
          detail::log_fault("key shard, data plane transfer", *f);
      },
      [=](sync_atom, bool sync) -> ok_atom {
        self->state.opts.sync = sync;
        return ok_atom::value;
      },
      [=](worker_down_atom, int32_t rank) {
        if (auto f = detail::capture([&] { worker_down(self, rank); }))
          detail::log_fault("key shard, worker " + std::to_string(rank) + " down", *f);
      },
      [=](updater_atom, updater_setting& setting) -> caf::result<ok_atom> {
        failure f = set_updater(self, setting);
        return detail::reply(f, ok_atom::value);
      },
      [=](save_atom) -> caf::result<std::vector<key_state>> {
        auto rp = self->make_response_promise<std::vector<key_state>>();
        if (auto f = detail::capture([&] { save_states(self, rp); }))
          detail::reply(rp, f, std::vector<key_state>{});
        return rp;
      },
      [=](load_atom, std::vector<key_state>& states, bool with_counts) -> caf::result<ok_atom> {
        return detail::reply(detail::capture([&] { load_states(self, states, with_counts); }),
                             ok_atom::value);
      },
  };
}

}  // namespace

shard_actor spawn_key_shard(caf::actor_system& sys, reducer_set reducers, shard_options opts) {
  return sys.spawn(key_shard, std::move(reducers), opts);
}

}  // namespace kvs
