#pragma once
// The coordinator (the scheduler process): membership and ranks, barriers,
// commands fanned out to the servers, and liveness: it watches every node,
// tells the servers when a worker dies (so rounds waiting for it fail) and
// fails barriers that can no longer complete. When every worker is done it
// stops the servers and ends.
//
// Every wait is bounded and named. A wait longer than stall_warning is
// logged (which nodes have not registered, which ranks a barrier waits for)
// and logged again each stall_warning. A cluster still incomplete at
// startup_timeout fails every registration naming the missing nodes, and
// the coordinator ends with that error (the scheduler process exits 1). A
// barrier still incomplete at barrier_timeout fails naming the missing ranks.
#include <chrono>

#include <caf/actor_system.hpp>

#include "messages/cluster_actors.hpp"

namespace kvs {

struct coordinator_options {
  int num_workers = 1;
  int num_servers = 1;
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds startup_timeout{30000};
  std::chrono::milliseconds barrier_timeout{300000};
  std::chrono::milliseconds stall_warning{60000};
};

// The coordinator ends normally when the job is over, or with the kvs error
// that ended the job (an incomplete cluster at startup_timeout).
coordinator_actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts);

}  // namespace kvs
