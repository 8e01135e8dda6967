#include "store/graph_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <thread>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/gpu_reducer.hpp"
#include "actors/nccl_reducer.hpp"
#include "gpu/gpu_runtime.hpp"
#include "actors/function_updater.hpp"
#include "actors/optimizer_updater.hpp"
#include "actors/key_shard.hpp"
#include "actors/worker.hpp"
#include "core/array_impl.hpp"
#include "core/log.hpp"
#include "core/network.hpp"
#include "serialization/state_file.hpp"
#include "messages/errors.hpp"
#include "store/store_kind.hpp"

namespace kvs::detail {

graph_store::graph_store(std::string type, const config& cfg) : type_(std::move(type)) {
  // Idle scheduler threads poll without napping before they block on a
  // condition variable: CAF's default 50 us naps between polls dominate the
  // latency of small operations (a sleep_for rounds up to the timer slack).
  sys_cfg_->set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  sys_cfg_->set("logger.verbosity", caf::atom("quiet"));
  log::set_level(cfg.resolved().log_level);
  if (classify_store(type_).distributed)
    start_distributed(cfg);
  else
    start_local(cfg);
}

void graph_store::start_local(const config& cfg) {
  cfg_ = cfg.resolved();
  sys_cfg_->set("scheduler.max-threads", static_cast<size_t>(cfg_.scheduler_threads));
  system_ = std::make_unique<caf::actor_system>(*sys_cfg_);
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
  telemetry_ = std::make_shared<telemetry>(cfg_.timeline, type_ + " store");
  sopts.telemetry = telemetry_;
  for (int i = 0; i < cfg_.local_shards; ++i)
    shards_.push_back(spawn_key_shard(*system_, reducers_, sopts));
  worker_options wopts;
  wopts.max_inflight = cfg_.max_inflight;
  wopts.max_inflight_bytes = cfg_.max_inflight_bytes;
  wopts.request_timeout = cfg_.request_timeout;
  wopts.inline_bound = cfg_.inline_bound;
  wopts.telemetry = telemetry_;
  worker_ = spawn_worker(*system_, shards_, reducers_, wopts);
  log::info("kvs: store \"" + type_ + "\" created: " + std::to_string(cfg_.local_shards) +
            " shards, " + std::to_string(cfg_.scheduler_threads) + " scheduler threads" +
            (cfg_.timeline.empty() ? "" : ", timeline " + cfg_.timeline));
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
  shut_down();
}

namespace {

// Waits up to `limit` for every actor of `sys` to end; false if some still
// run. CAF offers only an unbounded wait, so this looks every millisecond
// (the actors usually end within the first).
bool await_actors(caf::actor_system& sys, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (sys.registry().running() > 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

void graph_store::shut_down() {
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
  // An actor busy in a call that never returns (a user's updater stuck in
  // its function) would keep the system's destructor waiting forever: after
  // request_timeout it is left behind, with the system and its threads.
  if (!await_actors(*system_, cfg_.request_timeout)) {
    log::warn("kvs: " + std::to_string(system_->registry().running()) +
              " actor(s) of the store (an updater stuck in a call?) still run " +
              std::to_string(cfg_.request_timeout.count()) +
              " ms after it was destroyed; leaving them behind");
    (void)system_.release();
    (void)sys_cfg_.release();
    return;
  }
  system_.reset();
}

std::chrono::milliseconds graph_store::wait_limit() const {
  // Waits for operations outlast the longest chain of an operation's steps.
  auto t = cfg_.request_timeout;
  return wait_bounds::operation(t) + wait_bounds::margin(t);
}

void graph_store::do_set_optimizer(std::shared_ptr<optimizer> opt) {
  check_no_compressed_pulls("set_optimizer");
  if (distributed()) {
    // The servers run the optimizer: rank 0 sends its configuration (cereal,
    // where MXNet pickles), every worker waits until all servers have it.
    cluster_->check_scheduler("set_optimizer");
    tracker_->wait_all(wait_limit());
    if (cluster_->info().rank == 0)
      cluster_->command(0, opt->serialize());
    cluster_->barrier();
    optimizer_ = std::move(opt);
    has_updater_ = true;
    return;
  }
  // The actor and the shards run a copy: a caller that changes its
  // optimizer object afterwards cannot race with updates in flight.
  std::shared_ptr<const optimizer> frozen = std::make_shared<const optimizer>(*opt);
  auto handle = spawn_optimizer_updater(*system_, frozen);
  install_updater(optimizer_setting(handle, std::move(frozen)), true);
  optimizer_ = std::move(opt);
  has_updater_ = true;
}

void graph_store::do_set_updater(updater fn) {
  install_updater(updater_setting{spawn_function_updater(*system_, std::move(fn)), 0, false}, true);
}

void graph_store::do_set_updater_actor(updater_actor handle) {
  install_updater(updater_setting{std::move(handle), 0, false}, false);
}


void graph_store::install_updater(updater_setting setting, bool owned) {
  if (compression_.pull) {
    if (owned)
      caf::anon_send_exit(setting.actor, caf::exit_reason::user_shutdown);
    check_no_compressed_pulls("set_updater");
  }
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
  has_updater_ = true;
}

store_stats graph_store::do_stats() const { return telemetry_->stats(); }

bool graph_store::do_is_capable(const std::string& capability) const {
  return capability == "optimizer" || (capability == "gradient_compression" && compresses());
}

void graph_store::do_wait_all() { tracker_->wait_all(wait_limit()); }

}  // namespace kvs::detail
