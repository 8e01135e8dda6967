#pragma once
// The protocol's types that cross the network, registered with CAF under
// their names. Every node of a distributed job registers the same list.
#include <caf/actor_system_config.hpp>

namespace kvs {

void add_message_types(caf::actor_system_config& sys_cfg);

}  // namespace kvs
