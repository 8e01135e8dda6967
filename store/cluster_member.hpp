#pragma once
// A worker's membership in a distributed job: registers with the coordinator
// (waiting until the cluster is complete), connects to every server's key
// shard, and runs barriers, server commands and the goodbye. It watches the
// scheduler: once the scheduler is gone the job is over, and every request
// that needs it fails with peer_down naming it.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "kvs/config.hpp"
#include "messages/cluster_actors.hpp"
#include "messages/shard_actor.hpp"

namespace kvs::detail {

class cluster_member {
public:
  // `liveness`: an actor that lives as long as the store (the coordinator
  // watches it to notice a dead worker).
  cluster_member(caf::actor_system& sys, const config& cfg, const caf::actor& liveness);
  ~cluster_member();
  cluster_member(const cluster_member&) = delete;
  cluster_member& operator=(const cluster_member&) = delete;

  const registration& info() const { return reg_; }
  std::vector<shard_actor> connect_shards();
  std::vector<std::string> shard_names() const;  // "server 0 (127.0.0.1:4242)"
  void barrier();
  void command(int head, const std::string& body);
  void done();  // this worker has finished
  // Throws peer_down naming the scheduler once it is gone (the job is over).
  void check_scheduler(const std::string& what) const;

private:
  template <class Reply, class... Ts>
  Reply ask(const std::string& what, std::chrono::milliseconds limit, Ts&&... xs);

  caf::actor_system& sys_;
  config cfg_;
  std::string scheduler_name_;  // "the scheduler (127.0.0.1:9091)"
  coordinator_actor coord_;
  registration reg_;
  // Set by the watcher (an actor monitoring the coordinator) or by a request
  // that found the coordinator gone.
  std::shared_ptr<std::atomic<bool>> scheduler_down_ = std::make_shared<std::atomic<bool>>(false);
  caf::actor watcher_;
};

}  // namespace kvs::detail
