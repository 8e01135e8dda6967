#include "actors/worker_route.hpp"

#include <caf/all.hpp>

#include "actors/device_job.hpp"
#include "actors/fault_log.hpp"
#include "actors/timed_request.hpp"
#include "actors/wait_bounds.hpp"
#include "core/array_impl.hpp"
#include "core/element.hpp"
#include "core/log.hpp"
#include "core/row_ops.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

namespace {

bool is_push(const operation& op) {
  return op.kind == op_kind::push || op.kind == op_kind::pushpull;
}

// What an operation takes of the dispatch window: the bytes of every array
// it moves, each pushed input and each pulled output (a pushpull both); of
// a row_sparse input or a pull of some rows only those rows (not the key's
// dense size: a step's push of 1% of a big table's rows filled the window
// alone, so the pull of the same rows behind it waited for the push's
// answer). Each input counts: a push from several devices sends, or sums,
// every device's array (its rows); the union of their rows is not known yet.
int64_t op_bytes(const operation& op) {
  auto& sample = op.sample();
  auto row_bytes = static_cast<int64_t>(row_length(sample.shape()) * size_of(sample.dtype()));
  auto dense_bytes = [](const ndarray& a) {
    return static_cast<int64_t>(a.size() * size_of(a.dtype()));
  };
  if (op.select_rows) {  // its inputs are the row ids; each output gets the rows
    auto per_output = op.row_ids.is_none()
                          ? dense_bytes(sample)  // every row
                          : static_cast<int64_t>(op.row_ids.size()) * row_bytes;  // ids may repeat
    return per_output * static_cast<int64_t>(op.outputs.size());
  }
  int64_t bytes = 0;
  for (auto& in : op.inputs)
    bytes += in.storage() == storage::row_sparse
                 ? static_cast<int64_t>(ndarray_access::impl(in).row_ids.size()) * row_bytes
                 : dense_bytes(in);
  if (op.kind == op_kind::pull || op.kind == op_kind::pushpull)
    for (auto& out : op.landing)
      bytes += dense_bytes(out);
  return bytes;
}

// ---- the timeline and the counters (core/telemetry.hpp) -------------------

bool tracing(const worker_state& st) { return st.opts.telemetry && st.opts.telemetry->tracing(); }

// The end of a stage that had work, or of the wait in the queue.
void trace(const worker_state& st, const running_op& r, const char* stage,
           std::chrono::system_clock::time_point since) {
  if (!tracing(st))
    return;
  std::string name = stage;
  const char* shown = name == "send" ? "on the wire" : name == "finish" ? "done" : stage;
  st.opts.telemetry->span(r.op->key, shown, since, r.bytes);
}

// Counters, and a log line for an operation slower than a second.
void count(const worker_state& st, const running_op& r) {
  auto took = std::chrono::system_clock::now() - r.op->queued_at;
  if (took > std::chrono::seconds(1))
    log::info("kvs: slow operation: " + std::string(to_string(r.op->kind)) + " of key " +
              r.op->key.to_string() + " took " +
              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()) +
              " ms");
  if (!st.opts.telemetry || r.first_failure)
    return;
  bool push = is_push(*r.op);
  bool pull = r.op->kind == op_kind::pull || r.op->kind == op_kind::pushpull;
  // What crossed to and from the shards: packed bytes under compression.
  st.opts.telemetry->count(r.op->key, push || r.op->kind == op_kind::init ? r.wire_out : 0,
                           pull ? r.wire_in : 0, push, r.gradient_rows, r.shm_bytes,
                           r.shm_in_place_bytes);
}

job_runner runner(worker_impl self) {
  auto& st = self->state;
  return job_runner{st.reducers, st.opts.inline_bound, st.opts.request_timeout, st.deadlines};
}

// ---- stage: pre-sum ------------------------------------------------------
// Sums a push's per-device arrays here before they leave for another
// process, so one array per part crosses the network.
bool presum_applies(const worker_state& st, const running_op& r) {
  return st.opts.reduce_before_send && is_push(*r.op) && !r.op->sparse && r.op->inputs.size() > 1;
}

void presum_run(worker_impl self, const run_ptr& run) {
  auto& in = run->op->inputs;
  auto where = in[0].device();
  auto sum = make_uninitialized(in[0].shape(), in[0].dtype(), where);
  reduce_job job{{}, array_view::whole(sum), false};
  for (auto& a : in)
    job.inputs.push_back(array_view::whole(a));
  run->send = {sum};
  run_reduce(self, runner(self), std::move(job), "local sum of a push",
             [self, run](failure f) { stage_finished(self, run, std::move(f)); });
}

// ---- stage: rows ---------------------------------------------------------------
// A row_sparse push: its per-device arrays summed into one set of rows (the
// union of their ids), sent as rows. A pull of rows (row_sparse_pull, or a
// pull into row_sparse outputs): the ids made sorted and unique, each output
// given those ids and a rows buffer that the shards' answers fill.
bool rows_applies(const worker_state&, const running_op& r) {
  return !r.first_failure && (r.op->select_rows || (r.op->sparse && is_push(*r.op)));
}

// A vector of row ids to fill: one a finished operation left, if any.
std::vector<int64_t> recycled_ids(worker_state& st) {
  if (st.spare_ids.empty())
    return {};
  auto out = std::move(st.spare_ids.back());
  st.spare_ids.pop_back();
  return out;
}

void keep_ids(worker_state& st, std::vector<int64_t>&& ids) {
  constexpr size_t kept = 4;  // a push and a pull per step, with room to spare
  // A pull of every row of a big table (millions of ids) is not a step's
  // batch: its memory goes back rather than staying pinned for good.
  constexpr size_t most_ids = size_t{1} << 19;  // 4 MiB of ids
  if (ids.capacity() > 0 && ids.capacity() <= most_ids && st.spare_ids.size() < kept)
    st.spare_ids.push_back(std::move(ids));
}

void select_rows(worker_state& st, operation& op, bool whole_rows) {
  auto what = std::string("row_sparse_pull of key ") + op.key.to_string();
  if (!whole_rows)
    throw kvs::error(errc::unsupported,
                     what + ": the key is split across servers by elements, so its rows straddle "
                            "servers; initialize it with a row_sparse value to split it by rows");
  auto& sample = op.sample();
  auto total = sample.shape().at(0);
  if (op.row_ids.is_none()) {
    op.rows.resize(static_cast<size_t>(total));
    for (int64_t r = 0; r < total; ++r)
      op.rows[static_cast<size_t>(r)] = r;
  } else {
    op.rows = unique_row_ids(op.row_ids, total, what, recycled_ids(st));
  }
  kvs::shape s = sample.shape();
  s[0] = static_cast<int64_t>(op.rows.size());
  for (size_t i = 0; i < op.outputs.size(); ++i) {
    auto buf = make_uninitialized(s, sample.dtype(), op.outputs[i].device());
    replace_rows(op.outputs[i], op.rows, buf);
    op.landing[i] = buf;
  }
}

void rows_run(worker_impl self, const run_ptr& run) {
  auto f = capture(
      [&] {
        auto& op = *run->op;
        bool whole_rows = parts_hold_whole_rows(op, part_opts(self->state));
        if (op.select_rows)
          return select_rows(self->state, op, whole_rows);
        auto [ids, rows] = sum_row_sparse(op.inputs, recycled_ids(self->state));
        if (whole_rows) {
          op.rows = std::move(ids);
          run->send = {rows};
          return;
        }
        // A big dense key split by elements: rows may straddle its parts,
        // so this push travels dense.
        auto dense = ndarray::zeros(op.sample().shape(), rows.dtype(), cpu());
        scatter_rows(rows, 0, ids, row_length(dense.shape()), dense, false);
        run->send = {dense};
        op.sparse = false;
      },
      "rows of a row_sparse operation: ");
  stage_finished(self, run, std::move(f));
}

// ---- stage: send to the shards ---------------------------------------------
void part_done(worker_impl self, const run_ptr& run, failure f) {
  if (f && !run->first_failure)
    run->first_failure = std::move(f);
  if (--run->parts_left == 0)
    stage_finished(self, run);
}

// One part's answer: a value from another process goes into the landing arrays
// (from the part's landing range in shared memory, when the shard wrote it there).
// The part's shared memory ranges are given back first: the answer came.
void part_answered(worker_impl self, const run_ptr& run, const part_range& p, part_result& r,
                   part_shm& shm, bool remote) {
  auto landed = take_landed(self->state, shm, p, r, *run);  // none unless the value is there
  give_back(self->state, shm);
  if (auto f = failure_of(r)) {
    part_done(self, run, std::move(f));
    return;
  }
  run->gradient_rows += r.gradient_rows;
  if (landed) {
    part_done(self, run, std::move(*landed));
    return;
  }
  if (run->op->landing.empty()) {
    part_done(self, run, std::nullopt);
    return;
  }
  if (r.value.is_none()) {  // written into the outputs in this process
    if (remote) {  // a server's pull answer carries its value or landed it
      part_done(self, run,
                kvs::error(errc::invalid_argument,
                           "a server answered a pull of key " + run->op->key.to_string() + " with no value"));
      return;
    }
    run->wire_in += p.count * size_of(run->op->landing[0].dtype()) * run->op->landing.size();
    part_done(self, run, std::nullopt);
    return;
  }
  run->wire_in += r.value.size() * size_of(r.value.dtype());
  if (auto f = unpack_answer(self->state, p, run->op->landing, r.value)) {
    part_done(self, run, std::move(f));
    return;
  }
  if (r.value.is_none()) {  // unpacked into the landing arrays
    part_done(self, run, std::nullopt);
    return;
  }
  copy_job job{array_view::whole(r.value), {}};
  if (auto f = capture([&] {
        for (auto& o : run->op->landing)
          job.dests.push_back(array_view{o, p.offset, p.count, true});
      })) {
    part_done(self, run, std::move(f));
    return;
  }
  run_copy(self, runner(self), std::move(job), "copy of a pulled value",
           [self, run](failure f) { part_done(self, run, std::move(f)); });
}

// In dist_sync a push whose pre-sum failed is still sent, flagged failed and
// without inputs: the other workers' round of the key then completes, failed
// naming the cause, instead of timing out, and the key serves the next round
// (docs/distributed.md, "After a failed round").
bool announces_failure(const worker_state& st, const running_op& r) {
  return r.first_failure && st.opts.one_push_per_round && is_push(*r.op);
}

bool send_applies(const worker_state& st, const running_op& r) {
  return !r.first_failure || announces_failure(st, r);
}

void mark_failed(part_request& req, const kvs::error& why) {
  req.inputs.clear();
  req.sparse = false;  // no rows either: only the failure travels
  req.rows.clear();
  req.failed = true;
  req.failed_code = static_cast<uint8_t>(why.code());
  req.failed_why = why.what();
}

void send_run(worker_impl self, const run_ptr& run) {
  auto& st = self->state;
  auto parts = plan_parts(*run->op, run->sent(), part_opts(st));
  if (!run->packed.empty()) {  // the compression stage packed each part's arrays
    for (size_t i = 0; i < parts.size(); ++i) {
      auto& req = parts[i].request;
      req.inputs.clear();
      for (auto& a : run->packed.at(i))
        req.inputs.push_back(array_view::whole(a));
      req.codec = static_cast<uint8_t>(st.compression.type);
    }
    run->packed.clear();
  }
  if (announces_failure(st, *run))
    for (auto& p : parts)
      mark_failed(p.request, *run->first_failure);
  for (auto& p : parts)
    for (auto& v : p.request.inputs)
      run->wire_out += v.count * size_of(v.array.dtype());
  run->parts_left = parts.size();
  if (parts.empty()) {  // nothing to send (no elements)
    stage_finished(self, run);
    return;
  }
  for (auto& p : parts) {
    auto shm = place_in_shm(st, p.range.shard, p.request, *run);
    auto& sb = st.outbox[p.range.shard];
    sb.batch.items.push_back(std::move(p.request));
    sb.parts.push_back(pending_part{run, p.range, std::move(shm)});
  }
}

void send_batch(worker_impl self, uint32_t shard, shard_batch sb) {
  auto& st = self->state;
  if (st.shard_down[shard]) {
    for (auto& pp : sb.parts) {
      give_back(st, pp.shm);
      part_done(self, pp.run, kvs::error(errc::peer_down, st.opts.shard_names[shard] + " is down"));
    }
    return;
  }
  auto parts = std::make_shared<std::vector<pending_part>>(std::move(sb.parts));
  auto fail_all = [self, parts](kvs::error err) {
    turn t{self};
    // Never given back: a shard reported down after a lost connection may
    // still be alive and write an answer into a landing range; a timed-out
    // one may still read or write them. Arrays it may touch in place keep
    // their ranges of the arena out of use when they end.
    uint64_t kept = 0;
    for (auto& pp : *parts) {
      kept += keep_out(pp.shm);
      part_done(self, pp.run, err);
    }
    warn_kept_out(kept);  // one line per failed request, not per part
  };
  auto id = timed_request<batch_reply>(
      self, st.deadlines, wait_bounds::worker_to_shard(st.opts.request_timeout), st.shards[shard],
      "request to " + st.opts.shard_names[shard],
      [self, parts, fail_all, remote = st.shards[shard].node() != self->node()](
          batch_reply reply) mutable {
        if (reply.results.size() != parts->size()) {
          fail_all(kvs::error(errc::invalid_argument,
                              "a shard answered " + std::to_string(reply.results.size()) + " of " +
                                  std::to_string(parts->size()) + " requests"));
          return;
        }
        turn t{self};
        for (size_t i = 0; i < parts->size(); ++i) {
          auto& pp = (*parts)[i];
          part_answered(self, pp.run, pp.range, reply.results[i], pp.shm, remote);
        }
      },
      fail_all, batch_atom::value, std::move(sb.batch));
  st.open_requests[shard].insert(id);
}

// ---- stage: conversion into outputs of another dtype -------------------------
bool convert_applies(const worker_state&, const running_op& r) {
  if (r.first_failure)
    return false;
  if (r.op->select_rows)  // row_sparse outputs hold their landing rows
    return false;
  for (size_t i = 0; i < r.op->outputs.size(); ++i)
    if (!r.op->outputs[i].same_storage(r.op->landing[i]))
      return true;
  return false;
}

// Converts on the host (GPU values go through host copies), as MXNet's
// cross-dtype copies do; a rare path, so it runs here, not on a reducer.
void convert_into(const ndarray& from, const ndarray& to) {
  auto src = on_gpu(from) ? from.copy_to(cpu()) : from;
  auto dst = on_gpu(to) ? make_uninitialized(to.shape(), to.dtype(), cpu()) : to;
  const void* s = ndarray_access::raw(src);
  void* d = ndarray_access::raw(dst);
  for (size_t i = 0; i < from.size(); ++i)
    store_element(d, to.dtype(), i, load_element(s, from.dtype(), i));
  if (on_gpu(to))
    copy_elements(dst, 0, to, 0, to.size());
}

void convert_run(worker_impl self, const run_ptr& run) {
  auto f = capture(
      [&] {
        auto& op = *run->op;
        for (size_t i = 0; i < op.outputs.size(); ++i)
          if (!op.outputs[i].same_storage(op.landing[i]))
            convert_into(op.landing[i], op.outputs[i]);
      },
      "dtype conversion of a pull: ");
  stage_finished(self, run, std::move(f));
}

// ---- stage: finish ----------------------------------------------------------
bool finish_applies(const worker_state&, const running_op&) { return true; }

// The storages of `arrays`, in `out` (a vector the worker keeps: no
// allocation per operation).
const std::vector<const void*>& storages(const std::vector<ndarray>& arrays,
                                         std::vector<const void*>& out) {
  out.clear();
  for (auto& a : arrays)
    out.push_back(storage_id(a));
  return out;
}

// What an operation reads: its inputs, and the rows buffers of its
// row_sparse inputs as they were at submit (a server may read them in
// place, and they may be the dense array a later pull writes into). The
// handles saved at submit, not the inputs' buffers now: a pull into an
// input may have replaced its buffer since.
const std::vector<const void*>& reads(const operation& op, std::vector<const void*>& out) {
  storages(op.inputs, out);
  for (auto& r : op.read_rows)
    out.push_back(storage_id(r));
  return out;
}

// Operations that waited for this one's arrays may start.
void release_dependents(worker_state& st, const running_op& run) {
  auto& held = st.storages_scratch[0];
  reads(*run.op, held);
  for (auto& a : run.op->outputs)
    held.push_back(storage_id(a));
  st.hazards.remove(run.id, held);
  auto d = st.dependents.find(run.id);
  if (d == st.dependents.end())
    return;
  for (auto& [k, id] : d->second)
    st.queue.release(k, id);
  st.dependents.erase(d);
}

void finish_run(worker_impl self, const run_ptr& run) {
  auto& st = self->state;
  count(st, *run);
  run->op->finish(run->first_failure);
  keep_ids(st, std::move(run->op->rows));
  release_dependents(st, *run);
  st.queue.done(run->op->key, run->bytes, is_push(*run->op));
  st.need_dispatch = true;
  stage_finished(self, run);
}

const stage presum_stage{"pre-sum", &presum_applies, &presum_run};
const stage rows_stage{"rows", &rows_applies, &rows_run};
const stage send_stage{"send", &send_applies, &send_run};
const stage convert_stage{"convert", &convert_applies, &convert_run};
const stage finish_stage{"finish", &finish_applies, &finish_run};

// ---- moving operations along the route ---------------------------------------
void enter(worker_impl self, const run_ptr& run, int s) {
  auto& st = self->state;
  run->stage = s;
  run->stage_done = false;
  auto* next = st.route[static_cast<size_t>(s)];
  if (!next->applies(st, *run)) {
    run->stage_done = true;
    return;
  }
  if (tracing(st))
    run->since = std::chrono::system_clock::now();
  // What the stage's work throws (an allocation, a bug) fails the operation.
  auto f = capture([&] { next->run(self, run); });
  if (f && run->stage == s && !run->stage_done)
    stage_finished(self, run, std::move(f));
  else if (f)
    log_fault(std::string("worker, stage ") + next->name + " of key " + run->op->key.to_string(), *f);
}

// Moves the key's operations as far as their work and their order allow:
// each may enter stages up to the one its predecessor entered last.
void advance(worker_impl self, const kvs::key& k) {
  auto& st = self->state;
  auto i = st.routes.find(k);
  if (i == st.routes.end())
    return;
  auto& kr = i->second;
  if (kr.advancing) {
    kr.again = true;
    return;
  }
  kr.advancing = true;
  int last = static_cast<int>(st.route.size()) - 1;
  do {
    kr.again = false;
    int limit = last;
    for (size_t j = 0; j < kr.ops.size(); ++j) {
      auto r = kr.ops[j];
      while (r->stage_done && r->stage < limit)
        enter(self, r, r->stage + 1);
      limit = r->stage;
    }
    while (!kr.ops.empty() && kr.ops.front()->stage == last && kr.ops.front()->stage_done)
      kr.ops.pop_front();
  } while (kr.again);
  kr.advancing = false;  // the key's (empty) route stays: keys come back
}

void start(worker_impl self, op_ptr op, int64_t bytes, uint64_t id) {
  auto run = std::make_shared<running_op>();
  run->id = id;
  if (op->landing.size() != op->outputs.size())
    op->landing = op->outputs;
  run->bytes = bytes;
  run->op = std::move(op);
  trace(self->state, *run, "queued", run->op->queued_at);
  self->state.routes[run->op->key].ops.push_back(run);
  advance(self, run->op->key);
}

// Starts what the dispatch window lets start, highest priority first.
void dispatch(worker_impl self) {
  auto& st = self->state;
  while (auto e = st.queue.next())
    start(self, std::move(e->item), e->bytes, e->id);
}

// A push of rows to a shard of this process about to leave while more
// messages wait in the mailbox
// (the caller's next calls, often a row_sparse_pull of the same rows) is
// held back: the worker sends itself a flush message, which comes after
// them, so what they send goes in the same messages to the shards, where a
// pull of the rows a push updates is written in the update's pass
// (actors/key_shard.cpp, riders). Nothing is sent before the flush, which
// sends whatever is there then; nothing else is reordered.
bool holds_back(worker_impl self) {
  auto& st = self->state;
  if (st.flushing) {  // once: later pushes of this turn may be held again
    st.flushing = false;
    return false;
  }
  if (st.flush_pending)
    return true;
  if (self->mailbox().empty())
    return false;
  for (auto& [shard, sb] : st.outbox) {
    // Only shards of this process let a pull ride with its push; to another
    // process the hold would only tie unrelated requests to the push's batch
    // (answered when its dist_sync round completes).
    if (st.shards[shard].node() != self->node())
      continue;
    for (auto& m : sb.batch.items)
      if (m.op == part_op::push && m.sparse) {
        st.flush_pending = true;
        caf::anon_send(caf::actor_cast<worker_actor>(self), submit_atom::value, op_batch{});
        return true;
      }
  }
  return false;
}

void settle(worker_impl self) {
  auto& st = self->state;
  ++st.depth;
  while (st.need_dispatch || !st.outbox.empty()) {
    if (st.need_dispatch) {
      st.need_dispatch = false;
      dispatch(self);
    }
    if (holds_back(self))
      break;
    auto box = std::move(st.outbox);
    st.outbox.clear();
    for (auto& [shard, sb] : box)
      send_batch(self, shard, std::move(sb));
  }
  st.flushing = false;
  --st.depth;
}

}  // namespace

std::vector<const stage*> make_route(const worker_options& opts) {
  std::vector<const stage*> route;
  if (opts.reduce_before_send)
    route.push_back(&presum_stage);
  route.push_back(&rows_stage);
  route.push_back(&compress_stage);
  route.push_back(&send_stage);
  route.push_back(&convert_stage);
  route.push_back(&finish_stage);
  return route;
}

part_options part_opts(const worker_state& st) {
  return part_options{static_cast<uint32_t>(st.shards.size()), st.opts.rank, st.opts.split_bound,
                      st.opts.max_part_bytes};
}

turn::turn(worker_impl self) : self_(self) { ++self_->state.depth; }

turn::~turn() {
  if (--self_->state.depth != 0)
    return;
  if (auto f = capture([&] { settle(self_); }))  // a destructor must not throw
    log_fault("worker, dispatch", *f);
}

void submit_ops(worker_impl self, std::vector<op_ptr> ops) {
  turn t{self};
  auto& st = self->state;
  if (ops.empty()) {  // the flush message: the outbox goes now
    st.flush_pending = false;
    st.flushing = true;
  }
  for (auto& op : ops) {
    auto f = capture([&] {
      auto bytes = op_bytes(*op);
      bool push = is_push(*op);
      auto id = ++st.next_id;
      op->queued_at = std::chrono::system_clock::now();  // slow operations, the timeline
      auto waits = st.hazards.add(id, reads(*op, st.storages_scratch[0]),
                                  storages(op->outputs, st.storages_scratch[1]));
      for (auto w : waits)
        st.dependents[w].emplace_back(op->key, id);
      st.queue.add({op->key, op->priority, bytes, push, op, id}, static_cast<int>(waits.size()));
    });
    if (f)  // not queued: it ends here
      op->finish(f);
  }
  st.need_dispatch = true;
}

void stage_finished(worker_impl self, const run_ptr& run, failure f) {
  turn t{self};
  trace(self->state, *run, self->state.route[static_cast<size_t>(run->stage)]->name, run->since);
  if (f && !run->first_failure)
    run->first_failure = std::move(f);
  run->stage_done = true;
  advance(self, run->op->key);
}

void shard_lost(worker_impl self, size_t i) {
  turn t{self};
  auto& st = self->state;
  st.shard_down[i] = true;
  auto ids = std::move(st.open_requests[i]);
  st.open_requests[i].clear();
  for (auto id : ids)
    st.deadlines.fail(id, kvs::error(errc::peer_down, st.opts.shard_names[i] + " is down"));
}

}  // namespace kvs::detail
