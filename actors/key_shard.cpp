#include "actors/key_shard.hpp"

#include <caf/all.hpp>

#include "actors/fault_log.hpp"
#include "actors/key_shard_state.hpp"
#include "actors/staging.hpp"
#include "core/array_impl.hpp"
#include "core/optimizer_state_layout.hpp"
#include "core/row_ops.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

using detail::entry_id;
using detail::failure;
using detail::item_done;
using detail::key_entry;
using detail::shard_impl;
using detail::shard_state;

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
    if (m.row_len > 0 && detail::row_length(s) != m.row_len) {  // a flat value of rows
      if (v.count % m.row_len != 0)
        throw kvs::error(errc::invalid_argument, "init of key " + m.id.key.to_string() +
                                                     ": a part of " + std::to_string(v.count) +
                                                     " elements is not whole rows of " +
                                                     std::to_string(m.row_len));
      s = kvs::shape{static_cast<int64_t>(v.count / m.row_len), static_cast<int64_t>(m.row_len)};
    }
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

// A range or the row ids refused on arrival (above this node's receive
// cap): the request is answered with why.
failure refused_on_arrival(const part_request& m) {
  if (!m.rows_refused.empty())
    return kvs::error(errc::invalid_argument,
                      "a request on key " + m.id.key.to_string() + ": " + m.rows_refused);
  for (auto* views : {&m.inputs, &m.outputs})
    for (auto& v : *views)
      if (!v.refused.empty())
        return kvs::error(errc::invalid_argument, "a request on key " + m.id.key.to_string() +
                                                      ": " + v.refused);
  return std::nullopt;
}

// A pull of rows that rides with the push before it (riders).
struct rider {
  part_request request;
  item_done done;
};

// The key's work for `m` when its turn comes; a rider joins the push's
// round if the push gets there, else it runs next on the key, as sent.
std::function<void()> key_work(shard_impl self, key_entry* e, part_request m, bool remote,
                               item_done done, std::optional<rider> pull) {
  return [self, e, m = std::move(m), remote, done = std::move(done),
          pull = std::move(pull)]() mutable {
    auto& riding = self->state.riding;
    if (pull)
      riding = shard_state::riding_pull{e, std::move(pull->request), std::move(pull->done), remote};
    pull.reset();
    detail::guarded(self, *e, &done, [&] {
      if (m.op == part_op::push)
        detail::do_push(self, *e, m, remote, done);
      else
        detail::do_pull(self, *e, m, remote, done);
    });
    if (!riding)
      return;
    auto left = std::move(*riding);
    riding.reset();
    auto fail = left.done;
    detail::enqueue_next(*e, key_work(self, e, std::move(left.request), remote, std::move(left.done), {}),
                         std::move(fail));
  };
}

void serve_item(shard_impl self, part_request& m, bool remote, item_done done,
                std::optional<rider> pull = std::nullopt) {
  auto alone = [&] {  // the push went no further: its rider is served as sent
    if (pull)
      serve_item(self, pull->request, remote, std::move(pull->done));
  };
  if (m.op == part_op::init) {
    done(do_init(self, m), ndarray());
    return;
  }
  if (m.op != part_op::push && m.op != part_op::pull && m.op != part_op::pull_rows) {
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
    alone();
    return;
  }
  auto* e = &i->second;
  item_done fail = done;
  if (pull)  // failed unrun (behind late work): both end
    fail = [push = done, pull = pull->done](failure f, detail::item_answer a) {
      push(f, a);
      pull(f, a);
    };
  detail::enqueue(*e, key_work(self, e, std::move(m), remote, std::move(done), std::move(pull)),
                  std::move(fail));
}

// For each push of rows, the index of a pull of rows sent right behind it
// in the same message: same key part, same worker, nothing else on that
// part between them (n: none). Such a pull rides with the push (its round
// holds it), so the update can write the pulled rows as it goes. Only
// in-process requests with their values in the message; a failed or packed
// push goes alone.
std::vector<size_t> riders(const part_batch& batch, bool remote) {
  auto n = batch.items.size();
  std::vector<size_t> out(n, n);
  if (remote)
    return out;
  auto plain_push = [](const part_request& m) {
    return m.op == part_op::push && m.sparse && !m.failed && m.codec == 0 && !detail::names_shm(m);
  };
  for (size_t i = 0; i < n; ++i) {
    auto& push = batch.items[i];
    if (!plain_push(push))
      continue;
    for (size_t j = i + 1; j < n; ++j) {
      auto& next = batch.items[j];
      if (next.id.key != push.id.key || next.id.part != push.id.part)
        continue;
      if (next.op == part_op::pull_rows && next.worker == push.worker &&
          !detail::names_shm(next) && !refused_on_arrival(next))
        out[i] = j;
      break;
    }
  }
  return out;
}

// A request that could not be served as sent (not a failure of the work):
// what the shard logs when it comes from another process.
bool malformed(const kvs::error& e) {
  auto c = e.code();
  return c == errc::invalid_argument || c == errc::corrupt_file || c == errc::shape_mismatch ||
         c == errc::dtype_mismatch;
}

// The answers to one batch: each request is answered once (a second answer,
// after an error was already given, is dropped); the batch when all are.
struct batch_answer {
  caf::typed_response_promise<batch_reply> rp;
  batch_reply reply;
  std::vector<bool> answered;
  size_t remaining = 0;
};

void serve_batch(shard_impl self, part_batch& batch, const caf::node_id& from, bool remote,
                 caf::typed_response_promise<batch_reply> rp) {
  auto n = batch.items.size();
  self->state.inline_update_spent = 0;  // a new message: a new budget
  if (n == 0) {
    rp.deliver(batch_reply{});
    return;
  }
  auto ba = std::make_shared<batch_answer>();
  ba->rp = std::move(rp);
  ba->reply.results.resize(n);
  ba->answered.assign(n, false);
  ba->remaining = n;
  auto answer_of = [ba, remote](size_t i) -> item_done {
    return [ba, i, remote](failure f, detail::item_answer a) {
      if (ba->answered[i])
        return;
      ba->answered[i] = true;
      if (remote && f && malformed(*f))
        detail::log_fault("key shard refused a request from another process", *f);
      detail::reply(ba->reply.results[i], f, std::move(a.value), a.gradient_rows);
      if (--ba->remaining == 0)
        ba->rp.deliver(std::move(ba->reply));
    };
  };
  auto ride = riders(batch, remote);
  std::vector<bool> riding(n, false);
  for (size_t i = 0; i < n; ++i) {
    if (riding[i])  // served with its push
      continue;
    auto answer = answer_of(i);
    auto& item = batch.items[i];
    if (auto f = refused_on_arrival(item)) {  // before its ranges: the ids they name are gone
      answer(f, ndarray());
      continue;
    }
    if (ride[i] < n) {
      riding[ride[i]] = true;
      serve_item(self, item, remote, std::move(answer),
                 rider{std::move(batch.items[ride[i]]), answer_of(ride[i])});
      continue;
    }
    bool landing = false;  // answered by value, which land_in_shm writes into the range
    bool in_place = false;  // rows gathered into their landing range (resolve_shm)
    if (detail::names_shm(item)) {  // never served with a range unchecked
      // Only an output that named a landing range is written in place.
      bool rows_range = item.op == part_op::pull_rows && !item.outputs.empty() &&
                        !item.outputs[0].shm.empty();
      if (auto f = detail::capture([&] {
            detail::resolve_shm(self, from, item);
            landing = !item.outputs.empty() && !item.outputs[0].shm.empty();
            in_place = rows_range && !item.outputs[0].array.is_none();
            if (landing)
              answer = detail::land_in_shm(self, from, item, std::move(answer));
          })) {
        answer(f, ndarray());
        continue;
      }
    }
    serve_item(self, item, (remote && !in_place) || landing, std::move(answer));
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
        [one_done](failure f, detail::item_answer) mutable { one_done(std::move(f)); });
  }
  one_done(std::nullopt);
}

// A loaded state must be what the updater keeps for its key (the layout of
// core/optimizer_state_layout.hpp), or nothing (never updated): the
// updater writes through it as through the weight.
void check_loaded_state(const shard_state& st, const key_entry& e, const key_state& ks) {
  if (ks.arrays.empty())
    return;
  auto& u = st.updater;
  auto layout = detail::optimizer_state_layout(e.stored.dtype(), e.stored.shape(), u.state_arrays,
                                               u.multi_precision);
  if (ks.arrays.size() != layout.size())
    throw kvs::error(errc::invalid_argument,
                     "load: " + detail::key_name(e) + " gets " + std::to_string(ks.arrays.size()) +
                         " state arrays; its updater keeps " + std::to_string(layout.size()));
  for (size_t i = 0; i < layout.size(); ++i) {
    auto& a = ks.arrays[i];
    if (a.is_none() || a.storage() != storage::dense || a.dtype() != layout[i].type ||
        a.shape() != layout[i].shape)
      throw kvs::error(errc::shape_mismatch,
                       "load: state " + std::to_string(i) + " of " + detail::key_name(e) + " is " +
                           describe(a) + "; the weight " + describe(e.stored) + " needs " +
                           to_string(layout[i].type) + to_string(layout[i].shape) + " (dense)");
  }
}

void load_states(shard_impl self, std::vector<key_state>& states, bool with_counts) {
  for (auto& ks : states) {  // nothing changes unless every state fits its key
    auto i = self->state.entries.find(entry_id{ks.key, ks.part});
    if (i != self->state.entries.end())
      check_loaded_state(self->state, i->second, ks);
  }
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
  if (setting.actor && self->state.compression.pull)
    return kvs::error(errc::invalid_argument,
                      "this store compresses pulls (set_gradient_compression with "
                      "compress_pull): it only sums gradients, no optimizer or updater runs in it");
  // The built-in optimizer runs here only while its actor lives: an actor
  // killed after a failed set_optimizer must fail every update, small ones
  // included, not leave them quietly running (the down handler clears it).
  if (setting.built_in && setting.actor)
    self->monitor(setting.actor);
  // A new updater starts from empty state, as a new MXNet updater does.
  self->state.updater = std::move(setting);
  for (auto& [id, e] : self->state.entries) {
    e.state.clear();
    e.updates = 0;
  }
  return std::nullopt;
}

void worker_down(shard_impl self, int32_t rank) {
  if (rank < 0 || rank >= self->state.opts.num_workers)
    throw kvs::error(errc::invalid_argument, "a worker_down message names rank " +
                                                 std::to_string(rank) + ", not one of the " +
                                                 std::to_string(self->state.opts.num_workers) +
                                                 " workers: ignored");
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
  self->state.shm.enabled = opts.shared_memory;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& u = self->state.updater;
    if (u.built_in && msg.source == caf::actor_cast<caf::actor_addr>(u.actor))
      u.built_in = nullptr;
    detail::drop_segments(self, msg.source);
  });
  // Every handler turns what its work throws into an error answer (or, with
  // no request to answer, a line on stderr): CAF would end the shard.
  return {
      [=](batch_atom, part_batch& batch) -> caf::result<batch_reply> {
        auto& sender = self->current_sender();
        bool remote = sender != nullptr && sender->node() != self->node();
        auto from = sender ? sender->node() : caf::node_id{};  // the promise takes the sender
        auto rp = self->make_response_promise<batch_reply>();
        if (auto f = detail::capture([&] { serve_batch(self, batch, from, remote, rp); }))
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
      [=](sync_atom, bool sync) -> ok_atom {
        self->state.opts.sync = sync;
        return ok_atom::value;
      },
      [=](compression_atom, std::string& body) -> caf::result<ok_atom> {
        return detail::reply(detail::set_compression(self->state, body), ok_atom::value);
      },
      [=](worker_down_atom, int32_t rank) {
        if (auto f = detail::capture([&] { worker_down(self, rank); }))
          detail::log_fault("key shard, worker " + std::to_string(rank) + " down", *f);
      },
      [=](shm_atom, shm_announce& a) -> caf::result<ok_atom> {
        return detail::reply(detail::capture([&] { detail::accept_segment(self, a); }),
                             ok_atom::value);
      },
      [=](shm_atom, shm_echo& echo) -> caf::result<ok_atom> {
        return detail::reply(detail::capture([&] { detail::bind_segment(self, echo); }),
                             ok_atom::value);
      },
      [=](updater_atom, updater_setting& setting) -> caf::result<ok_atom> {
        // only this process's built-in optimizers are known to take rows as
        // they are (and run here); an updater installed from another node
        // gets dense gradients
        auto s = self->current_sender();
        if (!s || s->node() != self->node() || !setting.actor ||
            setting.actor->node() != self->node()) {
          setting.takes_rows = false;
          setting.built_in = nullptr;
        }
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
