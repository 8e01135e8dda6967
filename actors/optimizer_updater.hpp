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

// How a shard runs the optimizer's updater (handle from the above, running
// `opt`; the shard may run small lazy updates of `opt` itself).
updater_setting optimizer_setting(updater_actor handle, std::shared_ptr<const optimizer> opt);

// One update by the built-in optimizer, as its actor runs it and as a shard
// runs a small lazy one itself: an error names the key. Lets go of the
// request's arrays. With `rows_out` (a shard's own update of a row_sparse
// gradient, a pull of the same rows waiting behind it), the updated rows
// are written there too, in the update's pass (optimizer::update_and_copy_rows).
detail::failure apply_optimizer(const optimizer& opt, update_request& req,
                                const array_view* rows_out = nullptr);

}  // namespace kvs
