// graph_store placed across processes: joining the cluster, barriers,
// server commands, ranks.
#include <cstdlib>
#include <iostream>

#include <caf/all.hpp>

#include "actors/spawn_function.hpp"
#include "actors/worker.hpp"
#include "core/log.hpp"
#include "store/graph_store.hpp"
#include "store/network.hpp"
#include "store/shm_handshake.hpp"
#include "store/store_kind.hpp"

namespace kvs::detail {

void graph_store::start_distributed(const config& cfg) {
  cfg_ = cfg.resolved_cluster();
  if (cfg_.role != "worker") {
    // As in MXNet: a server or scheduler process that creates a distributed
    // store serves until the job ends, then exits: 0 when the job ended,
    // 2 for a bad setting, 1 when the job failed (a node that never
    // registered, a dead scheduler), saying why.
    try {
      serve(cfg_);
    } catch (const error& e) {
      log::error("kvs " + cfg_.role + ": " + e.what());
      std::exit(e.code() == errc::invalid_config ? 2 : 1);
    }
    std::exit(0);
  }
  detail::configure_network(*sys_cfg_, cfg_);
  system_ = std::make_unique<caf::actor_system>(*sys_cfg_);
  spawn_reducers();
  liveness_ = spawn_function(*system_, []() -> caf::behavior { return {[](done_atom) {}}; });
  try {
    cluster_ = std::make_unique<cluster_member>(*system_, cfg_, liveness_);
    shards_ = cluster_->connect_shards();
  } catch (...) {
    reducers_.stop();
    caf::anon_send_exit(liveness_, caf::exit_reason::user_shutdown);
    throw;
  }
  worker_options wopts;
  wopts.rank = cluster_->info().rank;
  wopts.max_inflight = cfg_.max_inflight;
  wopts.max_inflight_bytes = cfg_.max_inflight_bytes;
  wopts.request_timeout = cfg_.request_timeout;
  wopts.inline_bound = cfg_.inline_bound;
  wopts.split_bound = static_cast<uint64_t>(cfg_.bigarray_bound);
  wopts.max_part_bytes = static_cast<uint64_t>(cfg_.max_message_bytes);
  bool sync = classify_store(type_).sync;
  wopts.one_push_per_round = sync;
  wopts.reduce_before_send = true;
  wopts.shard_names = cluster_->shard_names();
  auto rank = cluster_->info().rank;
  telemetry_ = std::make_shared<telemetry>(timeline_path(cfg_.timeline, "worker", rank),
                                           "worker " + std::to_string(rank));
  wopts.telemetry = telemetry_;
  shm_offer offer;
  try {
    offer = offer_shared_memory(*system_, cfg_, shards_, wopts.shard_names, liveness_,
                                "worker " + std::to_string(rank));
  } catch (...) {
    reducers_.stop();
    caf::anon_send_exit(liveness_, caf::exit_reason::user_shutdown);
    throw;
  }
  wopts.shm = std::move(offer.segment);
  wopts.shm_segment_id = offer.id;
  wopts.shm_shards = std::move(offer.shards);
  wopts.arena = std::move(offer.arena);
  wopts.arena_id = offer.arena_id;
  wopts.arena_shards = std::move(offer.arena_shards);
  wopts.shm_min_bytes = static_cast<uint64_t>(cfg_.shm_min_bytes);
  worker_ = spawn_worker(*system_, shards_, reducers_, wopts);
  // Rank 0 tells the servers how to run rounds; nobody pushes before that.
  if (cluster_->info().rank == 0)
    cluster_->command(3, sync ? "1" : "0");
  cluster_->barrier();
  log::info("kvs: store \"" + type_ + "\" created: worker rank " + std::to_string(rank) + " of " +
            std::to_string(cluster_->info().num_workers) + ", " +
            std::to_string(shards_.size()) + " servers");
}

void graph_store::do_barrier() {
  if (distributed())
    cluster_->barrier();
}

void graph_store::do_send_command_to_servers(int head, const std::string& body) {
  if (!distributed())
    return kvstore::do_send_command_to_servers(head, body);
  cluster_->check_scheduler("send_command_to_servers");
  tracker_->wait_all(wait_limit());
  cluster_->command(head, body);
}

int graph_store::do_rank() const { return distributed() ? cluster_->info().rank : 0; }
int graph_store::do_num_workers() const {
  return distributed() ? cluster_->info().num_workers : 1;
}
int graph_store::do_local_rank() const {
  return distributed() ? cluster_->info().local_rank : 0;
}

}  // namespace kvs::detail
