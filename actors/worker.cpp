#include "actors/worker.hpp"

#include <deque>
#include <queue>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/timed_request.hpp"
#include "core/sharding.hpp"
#include "messages/errors.hpp"

namespace kvs {

const char* to_string(op_kind k) {
  switch (k) {
    case op_kind::init: return "init";
    case op_kind::push: return "push";
    case op_kind::pull: return "pull";
    case op_kind::pushpull: return "pushpull";
  }
  return "?";
}

void operation::finish(const std::optional<kvs::error>& failure) {
  for (auto& a : inputs)
    detail::ndarray_access_end_read(a);
  for (auto& a : outputs)
    detail::ndarray_access_end_write(a, failure);
  if (tracker)
    tracker->finished(failure);
  if (done)
    done->set(failure);
}

namespace {

using op_ptr = std::shared_ptr<operation>;

struct ready_item {
  int priority;
  uint64_t seq;
  op_ptr op;
  // std::priority_queue pops the largest: higher priority, then earlier call.
  bool operator<(const ready_item& o) const {
    return priority != o.priority ? priority < o.priority : seq > o.seq;
  }
};

struct key_queue {
  bool has_ready = false;  // one operation of this key sits in the ready heap
  std::deque<ready_item> waiting;
};

struct worker_state {
  std::vector<shard_actor> shards;
  worker_options opts;
  uint64_t next_seq = 0;
  int inflight = 0;
  std::unordered_map<kvs::key, key_queue, key_hash> queues;
  std::priority_queue<ready_item> ready;
  detail::deadline_book deadlines;
};

using worker_impl = worker_actor::stateful_pointer<worker_state>;

// Collects the answers of an operation's parts.
struct part_progress {
  size_t remaining;
  std::optional<kvs::error> failure;
};

std::vector<array_view> views(const std::vector<ndarray>& arrays, const detail::part_range& p) {
  std::vector<array_view> out;
  out.reserve(arrays.size());
  for (auto& a : arrays)
    out.push_back(array_view{a, p.offset, p.count});
  return out;
}

void dispatch(worker_impl self);

void part_done(worker_impl self, const op_ptr& op, const std::shared_ptr<part_progress>& pr,
               std::optional<kvs::error> f) {
  if (f && !pr->failure)
    pr->failure = std::move(f);
  if (--pr->remaining > 0)
    return;
  op->finish(pr->failure);
  --self->state.inflight;
  dispatch(self);
}

template <class Atom, class Msg>
void send_part(worker_impl self, const op_ptr& op, const std::shared_ptr<part_progress>& pr,
               const shard_actor& shard, Atom atom, Msg msg) {
  auto& st = self->state;
  // A shard's answer may wait on one request of its own (reducer, updater),
  // which has request_timeout: give the shard twice that, so the more
  // specific failure reaches the caller.
  detail::timed_request<ok_atom>(
      self, st.deadlines, 2 * st.opts.request_timeout, shard,
      std::string(to_string(op->kind)) + " of key " + op->key.to_string(),
      [self, op, pr](ok_atom) { part_done(self, op, pr, std::nullopt); },
      [self, op, pr](kvs::error err) { part_done(self, op, pr, std::move(err)); }, atom,
      std::move(msg));
}

void start(worker_impl self, const op_ptr& op) {
  auto& st = self->state;
  auto& sample = op->inputs.empty() ? op->outputs.front() : op->inputs.front();
  auto parts = detail::partition(op->key, sample.size(), static_cast<uint32_t>(st.shards.size()),
                                 st.opts.split_bound);
  auto pr = std::make_shared<part_progress>(part_progress{parts.size(), std::nullopt});
  for (uint32_t i = 0; i < parts.size(); ++i) {
    auto& p = parts[i];
    auto& shard = st.shards[p.shard];
    part_id id{op->key, i};
    switch (op->kind) {
      case op_kind::init:
        send_part(self, op, pr, shard, init_atom::value, part_init{id, array_view{op->inputs.front(), p.offset, p.count}});
        break;
      case op_kind::push:
        send_part(self, op, pr, shard, push_atom::value,
                  part_push{id, st.opts.rank, views(op->inputs, p), {}, op->sparse && parts.size() == 1,
                            op->rows});
        break;
      case op_kind::pushpull:
        send_part(self, op, pr, shard, push_atom::value,
                  part_push{id, st.opts.rank, views(op->inputs, p), views(op->outputs, p),
                            op->sparse && parts.size() == 1, op->rows});
        break;
      case op_kind::pull:
        send_part(self, op, pr, shard, pull_atom::value, part_pull{id, st.opts.rank, views(op->outputs, p)});
        break;
    }
  }
}

template <class Promise, class Value>
void answer(Promise& rp, const std::optional<kvs::error>& f, Value&& v) {
  if (f)
    rp.deliver(to_caf_error(*f));
  else
    rp.deliver(std::forward<Value>(v));
}

// Sends one request to every shard; `each` sees every answer, `done` runs
// once with the first failure, or with none after the last answer.
template <class Reply, class Each, class Done, class... Ts>
void fan_out(worker_impl self, const char* what, Each each, Done done, Ts... xs) {
  auto& st = self->state;
  struct progress {
    size_t remaining;
    std::optional<kvs::error> failure;
  };
  auto pr = std::make_shared<progress>(progress{st.shards.size(), std::nullopt});
  auto finish_one = [pr, done]() mutable {
    if (--pr->remaining == 0)
      done(pr->failure);
  };
  for (auto& shard : st.shards)
    detail::timed_request<Reply>(
        self, st.deadlines, 2 * st.opts.request_timeout, shard, what,
        [each, finish_one](Reply r) mutable {
          each(std::move(r));
          finish_one();
        },
        [pr, finish_one](kvs::error err) mutable {
          if (!pr->failure)
            pr->failure = std::move(err);
          finish_one();
        },
        xs...);
}

void dispatch(worker_impl self) {
  auto& st = self->state;
  while (st.inflight < st.opts.max_inflight && !st.ready.empty()) {
    auto item = st.ready.top();
    st.ready.pop();
    // The next operation of the same key becomes ready: the shard serves a
    // key's messages in the order they arrive, so call order is kept.
    auto& q = st.queues[item.op->key];
    if (q.waiting.empty()) {
      q.has_ready = false;
    } else {
      st.ready.push(std::move(q.waiting.front()));
      q.waiting.pop_front();
    }
    ++st.inflight;
    start(self, item.op);
  }
}

worker_actor::behavior_type worker(worker_impl self, std::vector<shard_actor> shards,
                                   worker_options opts) {
  self->state.shards = std::move(shards);
  self->state.opts = opts;
  return {
      [=](submit_atom, op_batch& batch) {
        auto& st = self->state;
        for (auto& op : batch.ops) {
          ready_item item{op->priority, st.next_seq++, std::move(op)};
          auto& q = st.queues[item.op->key];
          if (q.has_ready) {
            q.waiting.push_back(std::move(item));
          } else {
            q.has_ready = true;
            st.ready.push(std::move(item));
          }
        }
        dispatch(self);
      },
      [=](tick_atom) {
        detail::on_tick(self, self->state.deadlines, self->state.opts.request_timeout);
      },
      [=](updater_atom, updater_setting& setting) -> caf::result<ok_atom> {
        auto rp = self->make_response_promise<ok_atom>();
        fan_out<ok_atom>(self, "set_updater", [](ok_atom) {},
                         [rp](std::optional<kvs::error> f) mutable { answer(rp, f, ok_atom::value); },
                         updater_atom::value, setting);
        return rp;
      },
      [=](save_atom) -> caf::result<std::vector<key_state>> {
        auto rp = self->make_response_promise<std::vector<key_state>>();
        auto all = std::make_shared<std::vector<key_state>>();
        fan_out<std::vector<key_state>>(
            self, "save_optimizer_states",
            [all](std::vector<key_state> part) {
              all->insert(all->end(), part.begin(), part.end());
            },
            [rp, all](std::optional<kvs::error> f) mutable { answer(rp, f, std::move(*all)); },
            save_atom::value);
        return rp;
      },
      [=](load_atom, std::vector<key_state>& states, bool with_counts) -> caf::result<ok_atom> {
        auto rp = self->make_response_promise<ok_atom>();
        fan_out<ok_atom>(self, "load_optimizer_states", [](ok_atom) {},
                         [rp](std::optional<kvs::error> f) mutable { answer(rp, f, ok_atom::value); },
                         load_atom::value, states, with_counts);
        return rp;
      },
  };
}

}  // namespace

worker_actor spawn_worker(caf::actor_system& sys, std::vector<shard_actor> shards,
                          worker_options opts) {
  return sys.spawn(worker, std::move(shards), opts);
}

}  // namespace kvs
