#pragma once
// The server node: one per server process, beside its key shard. Runs the
// commands workers send to all servers (set optimizer, multi-precision, sync
// mode, stop), owns the optimizer's updater actor, and passes the
// coordinator's news of dead workers to the shard.
#include <chrono>

#include <caf/actor_system.hpp>

#include "messages/cluster_actors.hpp"
#include "messages/shard_actor.hpp"

namespace kvs {

server_actor spawn_server_node(caf::actor_system& sys, shard_actor shard,
                               std::chrono::milliseconds request_timeout);

}  // namespace kvs
