#include "actors/worker.hpp"

#include <deque>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/device_job.hpp"
#include "core/array_impl.hpp"
#include "core/op_tracker.hpp"
#include "actors/cpu_kernels.hpp"
#include "actors/staging.hpp"
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
using failure = std::optional<kvs::error>;

bool is_push(const operation& op) { return op.kind == op_kind::push || op.kind == op_kind::pushpull; }

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
  bool has_ready = false;  // an operation of this key sits in the ready heap
  int pushes_out = 0;      // pushes sent and not answered
  std::deque<ready_item> waiting;
};

// An operation on its way: its parts' answers and what it holds.
struct running_op {
  op_ptr op;
  std::vector<ndarray> send;  // what its pushes send (inputs, or their local sum)
  size_t remaining = 0;
  failure first_failure;
  int64_t bytes = 0;
};
using run_ptr = std::shared_ptr<running_op>;

struct worker_state {
  std::vector<shard_actor> shards;
  reducer_set reducers;
  worker_options opts;
  uint64_t next_seq = 0;
  int inflight = 0;
  int64_t inflight_bytes = 0;
  std::unordered_map<kvs::key, key_queue, key_hash> queues;
  std::priority_queue<ready_item> ready;
  detail::deadline_book deadlines;
  std::vector<bool> shard_down;
  std::vector<std::set<uint64_t>> open_requests;  // per shard, for a peer that dies
};

using worker_impl = worker_actor::stateful_pointer<worker_state>;

void dispatch(worker_impl self);

// Moves the key's next operation into the ready heap, unless it is a push
// that must wait for the key's open round (dist_sync).
void promote_next(worker_state& st, key_queue& q) {
  if (q.waiting.empty() ||
      (st.opts.one_push_per_round && q.pushes_out > 0 && is_push(*q.waiting.front().op))) {
    q.has_ready = false;
    return;
  }
  st.ready.push(std::move(q.waiting.front()));
  q.waiting.pop_front();
  q.has_ready = true;
}

void finish_op(worker_impl self, const run_ptr& run) {
  auto& st = self->state;
  run->op->finish(run->first_failure);
  --st.inflight;
  st.inflight_bytes -= run->bytes;
  if (is_push(*run->op)) {
    auto& q = st.queues[run->op->key];
    if (--q.pushes_out == 0 && !q.has_ready)
      promote_next(st, q);
  }
  dispatch(self);
}

void part_done(worker_impl self, const run_ptr& run, failure f) {
  if (f && !run->first_failure)
    run->first_failure = std::move(f);
  if (--run->remaining == 0)
    finish_op(self, run);
}

// One part's answer: a value from another process goes into the outputs.
void part_answered(worker_impl self, const run_ptr& run, const detail::part_range& p,
                   part_result& r) {
  if (!r.ok) {
    part_done(self, run, kvs::error(static_cast<errc>(r.code), r.message));
    return;
  }
  if (r.value.is_none() || run->op->outputs.empty()) {
    part_done(self, run, std::nullopt);
    return;
  }
  copy_job job{array_view::whole(r.value), {}};
  for (auto& o : run->op->outputs)
    job.dests.push_back(array_view{o, p.offset, p.count, true});
  auto& st = self->state;
  detail::run_copy(self,
                   detail::job_runner{st.reducers, st.opts.inline_bound, st.opts.request_timeout,
                                      st.deadlines},
                   std::move(job), "copy of a pulled value",
                   [self, run](failure f) { part_done(self, run, std::move(f)); });
}

// The requests of one dispatch window, by shard: fused into one message each.
struct pending_part {
  run_ptr run;
  detail::part_range range;
};
struct shard_batch {
  part_batch batch;
  std::vector<pending_part> parts;
};

void add_parts(worker_impl self, const run_ptr& run, std::map<uint32_t, shard_batch>& out) {
  auto& st = self->state;
  auto& op = *run->op;
  auto& sample = op.inputs.empty() ? op.outputs.front() : op.inputs.front();
  uint64_t chunk = st.opts.max_part_bytes == 0 ? 0 : st.opts.max_part_bytes / size_of(sample.dtype());
  auto parts = detail::partition(op.key, sample.size(), static_cast<uint32_t>(st.shards.size()),
                                 st.opts.split_bound, chunk);
  run->remaining = parts.size();
  for (uint32_t i = 0; i < parts.size(); ++i) {
    auto& p = parts[i];
    part_request req;
    req.id = part_id{op.key, i};
    req.worker = st.opts.rank;
    const auto& src = op.kind == op_kind::init ? op.inputs : run->send;
    if (op.kind != op_kind::pull)
      for (auto& a : src)
        req.inputs.push_back(array_view{a, p.offset, p.count, true});
    for (auto& o : op.outputs)
      req.outputs.push_back(array_view::destination(o, p.offset, p.count));
    req.op = op.kind == op_kind::init ? part_op::init
                                      : (op.kind == op_kind::pull ? part_op::pull : part_op::push);
    req.on_gpu = op.target.kind == device::gpu_kind;
    req.gpu_id = op.target.id;
    req.sparse = op.sparse && parts.size() == 1;
    if (req.sparse)
      req.rows = op.rows;
    auto& sb = out[p.shard];
    sb.batch.items.push_back(std::move(req));
    sb.parts.push_back(pending_part{run, p});
  }
}

void send_batch(worker_impl self, uint32_t shard, shard_batch sb) {
  auto& st = self->state;
  if (st.shard_down[shard]) {
    for (auto& pp : sb.parts)
      part_done(self, pp.run, kvs::error(errc::peer_down, st.opts.shard_names[shard] + " is down"));
    return;
  }
  auto parts = std::make_shared<std::vector<pending_part>>(std::move(sb.parts));
  auto fail_all = [self, parts](kvs::error err) {
    for (auto& pp : *parts)
      part_done(self, pp.run, err);
  };
  auto id = detail::timed_request<batch_reply>(
      self, st.deadlines, 2 * st.opts.request_timeout, st.shards[shard],
      "request to " + st.opts.shard_names[shard],
      [self, parts, fail_all](batch_reply reply) mutable {
        if (reply.results.size() != parts->size()) {
          fail_all(kvs::error(errc::invalid_argument, "a shard answered " +
                                                          std::to_string(reply.results.size()) +
                                                          " of " + std::to_string(parts->size()) +
                                                          " requests"));
          return;
        }
        for (size_t i = 0; i < parts->size(); ++i)
          part_answered(self, (*parts)[i].run, (*parts)[i].range, reply.results[i]);
      },
      fail_all, batch_atom::value, std::move(sb.batch));
  st.open_requests[shard].insert(id);
}

int64_t op_bytes(const operation& op) {
  auto& sample = op.inputs.empty() ? op.outputs.front() : op.inputs.front();
  return static_cast<int64_t>(sample.size() * size_of(sample.dtype()));
}

// Sums a push's per-device arrays here before they leave for another
// process, so one array per part crosses the network.
bool reduce_first(worker_impl self, const run_ptr& run) {
  auto& st = self->state;
  auto& op = *run->op;
  if (!st.opts.reduce_before_send || !is_push(op) || op.inputs.size() < 2)
    return false;
  auto where = op.inputs[0].device();
  auto sum = detail::make_uninitialized(op.inputs[0].shape(), op.inputs[0].dtype(), where);
  reduce_job job{{}, array_view::whole(sum), false};
  for (auto& a : op.inputs)
    job.inputs.push_back(array_view::whole(a));
  run->send = {sum};
  detail::timed_request<ok_atom>(
      self, st.deadlines, st.opts.request_timeout, st.reducers.for_device(where),
      "local sum of a push",
      [self, run](ok_atom) {
        std::map<uint32_t, shard_batch> own;
        add_parts(self, run, own);
        for (auto& [shard, sb] : own)
          send_batch(self, shard, std::move(sb));
      },
      [self, run](kvs::error e) {
        run->remaining = 1;
        part_done(self, run, std::move(e));
      },
      reduce_atom::value, std::move(job));
  return true;
}

void dispatch(worker_impl self) {
  auto& st = self->state;
  std::map<uint32_t, shard_batch> batches;
  while (st.inflight < st.opts.max_inflight && !st.ready.empty()) {
    int64_t bytes = op_bytes(*st.ready.top().op);
    if (st.inflight > 0 && st.inflight_bytes + bytes > st.opts.max_inflight_bytes)
      break;
    auto item = st.ready.top();
    st.ready.pop();
    auto& q = st.queues[item.op->key];
    if (is_push(*item.op))
      ++q.pushes_out;
    // The next operation of the key may go at once (a shard serves a key's
    // requests in arrival order), unless it must wait for this push's round.
    promote_next(st, q);
    ++st.inflight;
    st.inflight_bytes += bytes;
    auto run = std::make_shared<running_op>();
    run->op = item.op;
    run->bytes = bytes;
    run->send = item.op->inputs;
    if (!reduce_first(self, run))
      add_parts(self, run, batches);
  }
  for (auto& [shard, sb] : batches)
    send_batch(self, shard, std::move(sb));
}

template <class Promise, class Value>
void answer(Promise& rp, const failure& f, Value&& v) {
  if (f)
    rp.deliver(to_caf_error(*f));
  else
    rp.deliver(std::forward<Value>(v));
}

// One request to every shard (remembering the ids, for a shard that dies).
template <class Reply, class Each, class Done, class... Ts>
void to_all_shards(worker_impl self, const char* what, Each each, Done done, const Ts&... xs) {
  auto& st = self->state;
  detail::fan_out<Reply>(
      self, st.deadlines, 2 * st.opts.request_timeout, st.shards,
      [what](size_t) { return std::string(what); },
      [self](size_t i, uint64_t id) { self->state.open_requests[i].insert(id); }, std::move(each),
      std::move(done), xs...);
}

// A remote shard's process is gone: everything waiting on it fails now.
void shard_lost(worker_impl self, size_t i) {
  auto& st = self->state;
  st.shard_down[i] = true;
  auto ids = std::move(st.open_requests[i]);
  st.open_requests[i].clear();
  for (auto id : ids)
    st.deadlines.fail(id, kvs::error(errc::peer_down, st.opts.shard_names[i] + " is down"));
}

worker_actor::behavior_type worker(worker_impl self, std::vector<shard_actor> shards,
                                   reducer_set reducers, worker_options opts) {
  auto& st = self->state;
  st.shards = std::move(shards);
  st.reducers = std::move(reducers);
  st.opts = std::move(opts);
  st.shard_down.assign(st.shards.size(), false);
  st.open_requests.resize(st.shards.size());
  while (st.opts.shard_names.size() < st.shards.size())
    st.opts.shard_names.push_back("shard " + std::to_string(st.opts.shard_names.size()));
  for (auto& s : st.shards)
    if (s->node() != self->node())
      self->monitor(s);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& shards = self->state.shards;
    for (size_t i = 0; i < shards.size(); ++i)
      if (shards[i].address() == msg.source)
        shard_lost(self, i);
  });
  return {
      [=](submit_atom, op_batch& batch) {
        auto& st = self->state;
        for (auto& op : batch.ops) {
          ready_item item{op->priority, st.next_seq++, std::move(op)};
          auto& q = st.queues[item.op->key];
          q.waiting.push_back(std::move(item));
          if (!q.has_ready && q.waiting.size() == 1)
            promote_next(st, q);
        }
        dispatch(self);
      },
      [=](tick_atom) {
        detail::on_tick(self, self->state.deadlines, self->state.opts.request_timeout);
        // Forget the ids of requests that have ended.
        for (auto& ids : self->state.open_requests)
          for (auto i = ids.begin(); i != ids.end();)
            i = self->state.deadlines.is_open(*i) ? std::next(i) : ids.erase(i);
      },
      [=](updater_atom, updater_setting& setting) -> caf::result<ok_atom> {
        auto rp = self->make_response_promise<ok_atom>();
        to_all_shards<ok_atom>(self, "set_updater", [](ok_atom) {},
                         [rp](failure f) mutable { answer(rp, f, ok_atom::value); },
                         updater_atom::value, setting);
        return rp;
      },
      [=](save_atom) -> caf::result<std::vector<key_state>> {
        auto rp = self->make_response_promise<std::vector<key_state>>();
        auto all = std::make_shared<std::vector<key_state>>();
        to_all_shards<std::vector<key_state>>(
            self, "save_optimizer_states",
            [all](std::vector<key_state> part) {
              all->insert(all->end(), part.begin(), part.end());
            },
            [rp, all](failure f) mutable { answer(rp, f, std::move(*all)); }, save_atom::value);
        return rp;
      },
      [=](load_atom, std::vector<key_state>& states, bool with_counts) -> caf::result<ok_atom> {
        auto rp = self->make_response_promise<ok_atom>();
        to_all_shards<ok_atom>(self, "load_optimizer_states", [](ok_atom) {},
                         [rp](failure f) mutable { answer(rp, f, ok_atom::value); },
                         load_atom::value, states, with_counts);
        return rp;
      },
  };
}

}  // namespace

worker_actor spawn_worker(caf::actor_system& sys, std::vector<shard_actor> shards,
                          reducer_set reducers, worker_options opts) {
  return sys.spawn(worker, std::move(shards), std::move(reducers), std::move(opts));
}

}  // namespace kvs
