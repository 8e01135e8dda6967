#pragma once
// The built-in optimizers as an updater actor: it answers update requests
// like any user's updater. Detached: a big update must not hold a scheduler
// thread. The state (and each key's update count) lives in the shards.
#include <memory>

#include <caf/actor_system.hpp>

#include "kvs/optimizer.hpp"
#include "kvs/updater_actor.hpp"
#include "messages/shard_actor.hpp"

namespace kvs {

updater_actor spawn_optimizer_updater(caf::actor_system& sys,
                                                std::shared_ptr<const optimizer> opt);

// How a shard runs the optimizer's updater (handle from the above).
updater_setting optimizer_setting(updater_actor handle, const optimizer& opt);

}  // namespace kvs
