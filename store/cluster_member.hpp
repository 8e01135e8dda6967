#pragma once
// A worker's membership in a distributed job: registers with the coordinator
// (waiting until the cluster is complete), connects to every server's key
// shard, and runs barriers, server commands and the goodbye.
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

  const registration& info() const { return reg_; }
  std::vector<shard_actor> connect_shards();
  std::vector<std::string> shard_names() const;  // "server 0 (127.0.0.1:4242)"
  void barrier();
  void command(int head, const std::string& body);
  void done();  // this worker has finished

private:
  caf::actor_system& sys_;
  config cfg_;
  coordinator_actor coord_;
  registration reg_;
};

}  // namespace kvs::detail
