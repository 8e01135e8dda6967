#pragma once
// Wraps a function updater in an updater actor, so a function and a user's
// own updater actor reach the shards by the same path. Detached: a function
// may block, and must not hold a scheduler thread while it does.
#include <caf/actor_system.hpp>

#include "kvs/kvstore.hpp"

namespace kvs {

updater_actor spawn_function_updater(caf::actor_system& sys, updater fn);

}  // namespace kvs
