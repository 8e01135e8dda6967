#pragma once
// The coordinator (the scheduler process): membership and ranks, barriers,
// commands fanned out to the servers, and liveness: it watches every node,
// tells the servers when a worker dies (so rounds waiting for it fail) and
// fails barriers that can no longer complete. When every worker is done it
// stops the servers and ends.
#include <chrono>

#include <caf/actor_system.hpp>

#include "messages/cluster_actors.hpp"

namespace kvs {

struct coordinator_options {
  int num_workers = 1;
  int num_servers = 1;
  std::chrono::milliseconds request_timeout{30000};
};

coordinator_actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts);

}  // namespace kvs
