#include "store/graph_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/gpu_reducer.hpp"
#include "actors/nccl_reducer.hpp"
#include "gpu/gpu_runtime.hpp"
#include "actors/function_updater.hpp"
#include "actors/key_shard.hpp"
#include "actors/worker.hpp"
#include "core/array_impl.hpp"
#include "core/network.hpp"
#include "serialization/state_file.hpp"
#include "messages/errors.hpp"
#include "store/store_kind.hpp"

namespace kvs::detail {

namespace {

// Groups a list call by key, in order of first appearance: repeated keys in
// one call are one operation over all their arrays.
template <class Fn>
void for_each_group(const kvstore::key_list& keys, Fn fn) {
  std::vector<bool> done(keys.size(), false);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (done[i])
      continue;
    std::vector<size_t> members;
    for (size_t j = i; j < keys.size(); ++j)
      if (!done[j] && keys[j] == keys[i]) {
        done[j] = true;
        members.push_back(j);
      }
    fn(keys[i], members);
  }
}

// When every array is row_sparse: the union of their rows (an optimizer
// with lazy_update touches only those). Otherwise nullopt.
std::optional<std::vector<int64_t>> sparse_rows(const std::vector<ndarray>& arrays) {
  std::vector<int64_t> rows;
  for (auto& a : arrays) {
    if (a.storage() != storage::row_sparse)
      return std::nullopt;
    auto ids = a.row_ids();
    std::vector<int64_t> merged;
    std::set_union(rows.begin(), rows.end(), ids.begin(), ids.end(), std::back_inserter(merged));
    rows = std::move(merged);
  }
  return rows;
}

void add_inputs(operation& op, const std::vector<ndarray>& values) {
  auto rows = sparse_rows(values);
  op.sparse = rows.has_value();
  if (rows)
    op.rows = std::move(*rows);
  for (auto& v : values)
    op.inputs.push_back(densify(v));
}

// A list call takes every push before any pull writes (MXNet's rule): an
// input that is also another key's output in the same call (in-place
// pushpull of arrays shared by keys) is pushed from a copy taken now.
void snapshot_shared_inputs(std::vector<std::shared_ptr<operation>>& ops) {
  for (auto& op : ops)
    for (auto& in : op->inputs) {
      bool shared = false;
      for (auto& other : ops)
        for (auto& out : other->outputs)
          shared = shared || (other != op && in.same_storage(out));
      if (shared)
        in = in.copy_to(in.device());
    }
}

}  // namespace

graph_store::graph_store(std::string type, const config& cfg) : type_(std::move(type)) {
  // Idle scheduler threads poll without napping before they block on a
  // condition variable: CAF's default 50 us naps between polls dominate the
  // latency of small operations (a sleep_for rounds up to the timer slack).
  sys_cfg_.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  sys_cfg_.set("logger.verbosity", caf::atom("quiet"));
  if (classify_store(type_).distributed)
    start_distributed(cfg);
  else
    start_local(cfg);
}

void graph_store::start_local(const config& cfg) {
  cfg_ = cfg.resolved();
  sys_cfg_.set("scheduler.max-threads", static_cast<size_t>(cfg_.scheduler_threads));
  system_ = std::make_unique<caf::actor_system>(sys_cfg_);
  try {
    spawn_reducers();
  } catch (...) {
    reducers_.stop();
    system_.reset();
    throw;
  }
  shard_options sopts;
  sopts.inline_bound = cfg_.inline_bound;
  sopts.request_timeout = cfg_.request_timeout;
  for (int i = 0; i < cfg_.local_shards; ++i)
    shards_.push_back(spawn_key_shard(*system_, reducers_, sopts));
  worker_options wopts;
  wopts.max_inflight = cfg_.max_inflight;
  wopts.max_inflight_bytes = cfg_.max_inflight_bytes;
  wopts.request_timeout = cfg_.request_timeout;
  wopts.inline_bound = cfg_.inline_bound;
  worker_ = spawn_worker(*system_, shards_, reducers_, wopts);
}

// One CPU reducer; for the device types also one reducer per GPU present, so
// GPU arrays are summed on GPUs (never silently on the CPU).
void graph_store::spawn_reducers() {
  reducers_.cpu = spawn_cpu_reducer(*system_, cfg_.reduction_threads, cfg_.bigarray_bound);
  auto kind = classify_store(type_);
  if (!kind.reduces_on_gpus)
    return;
  if (kind.nccl) {  // one communicator serves every GPU
    auto nccl = spawn_nccl_reducer(*system_);
    reducers_.gpus.assign(static_cast<size_t>(cuda::device_count()), nccl);
  } else {
    for (int d = 0; d < cuda::device_count(); ++d)
      reducers_.gpus.push_back(spawn_gpu_reducer(*system_, d));
  }
  gpu_bytes_.assign(reducers_.gpus.size(), 0);
}

// Where a key's stored value lives: on a GPU, greedily balanced, for device
// stores that have GPUs and keys whose values come from a GPU; else the host.
kvs::device graph_store::place(const ndarray& value) {
  if (gpu_bytes_.empty() || distributed() || !detail::on_gpu(value))
    return cpu();
  auto best = std::min_element(gpu_bytes_.begin(), gpu_bytes_.end()) - gpu_bytes_.begin();
  gpu_bytes_[static_cast<size_t>(best)] += value.size() * size_of(value.dtype());
  return gpu(static_cast<int>(best));
}

graph_store::~graph_store() {
  try {
    tracker_->wait_all(wait_limit());
  } catch (const std::exception&) {
    // Failures nobody asked for end with the store; destruction must not throw.
  }
  if (cluster_)
    cluster_->done();
  caf::anon_send_exit(worker_, caf::exit_reason::user_shutdown);
  // In-process shards are ours; a distributed store's shards live on the
  // servers and serve the other workers until the job ends.
  if (!distributed())
    for (auto& s : shards_)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  reducers_.stop();
  if (owned_updater_)
    caf::anon_send_exit(owned_updater_, caf::exit_reason::user_shutdown);
  if (liveness_)
    caf::anon_send_exit(liveness_, caf::exit_reason::user_shutdown);
  liveness_ = nullptr;
  cluster_.reset();  // its handles belong to the system below
  worker_ = nullptr;
  shards_.clear();
  owned_updater_ = nullptr;
  system_.reset();  // waits for every actor to finish
}

std::chrono::milliseconds graph_store::wait_limit() const {
  // The worker gives a shard twice the request timeout; waits outlast that.
  return 2 * cfg_.request_timeout + std::chrono::milliseconds(10000);
}

const graph_store::key_meta& graph_store::meta_of(const char* op, const key& k) const {
  auto i = keys_.find(k);
  if (i == keys_.end())
    throw error(errc::key_not_initialized,
                std::string(op) + ": key " + k.to_string() + " is not initialized");
  return i->second;
}

namespace {
bool is_float(dtype t) {
  return t == dtype::f16 || t == dtype::bf16 || t == dtype::f32 || t == dtype::f64;
}
}  // namespace

void graph_store::check_value(const char* op, const key& k, const ndarray& v,
                              const char* role) const {
  auto& m = meta_of(op, k);
  if (v.shape() != m.dims)
    throw error(errc::shape_mismatch, std::string(op) + ": key " + k.to_string() + " has shape " +
                                          to_string(m.dims) + " but the " + role + " has shape " +
                                          to_string(v.shape()));
  // Outputs of another floating dtype receive the value converted (MXNet's
  // copies convert: fp16 keys pulled into float32 outputs).
  bool converts = std::string(role) == "output" && is_float(v.dtype()) && is_float(m.type);
  if (v.dtype() != m.type && !converts)
    throw error(errc::dtype_mismatch, std::string(op) + ": key " + k.to_string() + " has dtype " +
                                          to_string(m.type) + " but the " + role + " has dtype " +
                                          to_string(v.dtype()));
}

void graph_store::add_output(operation& op, const ndarray& out) const {
  op.outputs.push_back(out);
  dtype type;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    type = keys_.at(op.key).type;
  }
  op.landing.push_back(out.dtype() == type ? out
                                           : make_uninitialized(out.shape(), type, out.device()));
}

std::shared_ptr<operation> graph_store::make_op(op_kind kind, const key& k, int priority) {
  auto op = std::make_shared<operation>();
  op->kind = kind;
  op->key = k;
  op->priority = priority;
  op->tracker = tracker_;
  return op;
}

void graph_store::submit(std::vector<std::shared_ptr<operation>> ops) {
  if (ops.empty())
    return;
  auto limit = wait_limit();
  for (auto& op : ops) {
    for (auto& a : op->inputs)
      ndarray_access_begin_read(a, limit);
    for (auto& a : op->outputs)
      ndarray_access_begin_write(a, limit);
  }
  tracker_->started(ops.size());
  caf::anon_send(worker_, submit_atom::value, op_batch{std::move(ops)});
}

void graph_store::do_init(const key_list& keys, const array_list& values) {
  // Distributed: only rank 0's values are stored; every worker then waits
  // until they are (MXNet's init is followed by a barrier).
  bool send = !distributed() || cluster_->info().rank == 0;
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys_.count(keys[i]) > 0)
        throw error(errc::duplicate_init, "init: key " + keys[i].to_string() +
                                              " is already initialized");
      for (size_t j = 0; j < i; ++j)
        if (keys[j] == keys[i])
          throw error(errc::duplicate_init,
                      "init: key " + keys[i].to_string() + " appears twice in one call");
    }
    // Largest keys are placed first (MXNet's CommDevice order).
    std::vector<size_t> order(keys.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return values[a].size() > values[b].size(); });
    for (size_t i : order) {
      keys_[keys[i]] = key_meta{values[i].shape(), values[i].dtype()};
      if (!send)
        continue;
      auto op = make_op(op_kind::init, keys[i], 0);
      op->target = place(values[i]);
      op->inputs.push_back(densify(values[i]));
      op->done = std::make_shared<completion>();
      ops.push_back(op);
    }
  }
  auto waiting = ops;
  submit(std::move(ops));
  for (auto& op : waiting)
    op->done->wait(wait_limit(), "init of key " + op->key.to_string());
  if (distributed())
    cluster_->barrier();
}

void graph_store::do_push(const key_list& keys, const array_lists& values, int priority) {
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i)
      for (auto& v : values[i])
        check_value("push", keys[i], v, "value");
  }
  for_each_group(keys, [&](const key& k, const std::vector<size_t>& members) {
    auto op = make_op(op_kind::push, k, priority);
    std::vector<ndarray> all;
    for (auto i : members)
      all.insert(all.end(), values[i].begin(), values[i].end());
    add_inputs(*op, all);
    ops.push_back(std::move(op));
  });
  submit(std::move(ops));
}

void graph_store::do_pull(const key_list& keys, const array_lists& outs, int priority,
                          bool ignore_sparse) {
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i)
      for (auto& o : outs[i]) {
        check_value("pull", keys[i], o, "output");
        if (o.storage() == storage::row_sparse && !ignore_sparse)
          throw error(errc::unsupported, "pull: the output for key " + keys[i].to_string() +
                                             " is row_sparse; pulling rows needs row_sparse_pull, "
                                             "which this store does not support yet");
      }
  }
  for_each_group(keys, [&](const key& k, const std::vector<size_t>& members) {
    auto op = make_op(op_kind::pull, k, priority);
    for (auto i : members)
      for (auto& o : outs[i]) {
        if (o.storage() == storage::row_sparse) {
          if (!warned_sparse_) {
            warned_sparse_ = true;
            std::cerr << "kvs: pull skips row_sparse outputs (ignore_sparse = true); "
                         "use row_sparse_pull for them\n";
          }
          continue;
        }
        add_output(*op, o);
      }
    if (!op->outputs.empty())
      ops.push_back(std::move(op));
  });
  submit(std::move(ops));
}

void graph_store::do_pushpull(const key_list& keys, const array_lists& values,
                              const array_lists& outs, int priority) {
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i) {
      for (auto& v : values[i])
        check_value("pushpull", keys[i], v, "value");
      for (auto& o : outs[i]) {
        check_value("pushpull", keys[i], o, "output");
        if (o.storage() == storage::row_sparse)
          throw error(errc::unsupported, "pushpull: the output for key " + keys[i].to_string() +
                                             " is row_sparse, which pushpull cannot fill");
      }
    }
  }
  for_each_group(keys, [&](const key& k, const std::vector<size_t>& members) {
    auto op = make_op(op_kind::pushpull, k, priority);
    std::vector<ndarray> all;
    for (auto i : members) {
      all.insert(all.end(), values[i].begin(), values[i].end());
      for (auto& o : outs[i])
        add_output(*op, o);
    }
    add_inputs(*op, all);
    ops.push_back(std::move(op));
  });
  snapshot_shared_inputs(ops);
  submit(std::move(ops));
}

void graph_store::do_set_optimizer(std::shared_ptr<optimizer> opt) {
  if (distributed()) {
    // The servers run the optimizer: rank 0 sends its configuration (cereal,
    // where MXNet pickles), every worker waits until all servers have it.
    tracker_->wait_all(wait_limit());
    if (cluster_->info().rank == 0)
      cluster_->command(0, opt->serialize());
    cluster_->barrier();
    optimizer_ = std::move(opt);
    return;
  }
  auto handle = spawn_optimizer_updater(*system_, opt);
  install_updater(updater_setting{handle, opt->state_arrays(), opt->multi_precision()}, true);
  optimizer_ = std::move(opt);
}

void graph_store::do_set_updater(updater fn) {
  install_updater(updater_setting{spawn_function_updater(*system_, std::move(fn)), 0, false}, true);
}

void graph_store::do_set_updater_actor(updater_actor handle) {
  install_updater(updater_setting{std::move(handle), 0, false}, false);
}


void graph_store::install_updater(updater_setting setting, bool owned) {
  if (distributed()) {
    if (owned)
      caf::anon_send_exit(setting.actor, caf::exit_reason::user_shutdown);
    throw error(errc::unsupported, "set_updater on \"" + type_ +
                                       "\": distributed stores update on the servers; use "
                                       "set_optimizer");
  }
  auto handle = setting.actor;
  try {
    // Everything issued before the call runs under the updater it was issued under.
    tracker_->wait_all(wait_limit());
    ask_worker<ok_atom>("set_updater", updater_atom::value, std::move(setting));
  } catch (const error&) {
    if (owned)
      caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    throw;
  }
  // An updater we spawned stops when replaced; a user's actor is the user's.
  if (owned_updater_)
    caf::anon_send_exit(owned_updater_, caf::exit_reason::user_shutdown);
  owned_updater_ = owned ? handle : updater_actor{};
  optimizer_ = nullptr;
}

bool graph_store::do_is_capable(const std::string& capability) const {
  return capability == "optimizer";
}

void graph_store::do_wait_all() { tracker_->wait_all(wait_limit()); }

}  // namespace kvs::detail
