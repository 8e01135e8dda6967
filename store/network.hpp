#pragma once
// A node of a distributed job: its actor system's network settings. serve()
// (declared in kvs/kvstore.hpp) runs the server and scheduler roles.
#include <caf/actor_system_config.hpp>

#include "kvs/config.hpp"

namespace kvs::detail {

// The middleman's settings from `cfg` (resolved) and the protocol's message
// types: what every node's actor system needs, worker, server or scheduler.
void configure_network(caf::actor_system_config& sys_cfg, const config& cfg);

}  // namespace kvs::detail
