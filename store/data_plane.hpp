#pragma once
// Choosing how tensor bytes move (KVS_TRANSPORT, docs/distributed.md "Two
// planes"), and the worker's handshake with each shard over the actors'
// channel: the only way UCX addresses are exchanged.
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "core/ucx_plane.hpp"
#include "kvs/config.hpp"
#include "messages/shard_actor.hpp"

namespace kvs::detail {

// This node's data plane per `cfg.transport` (resolved): caf: none; ucx:
// the plane, or invalid_config saying why UCX cannot start; auto: the plane,
// or none with one line on stderr saying why. `who` names the node.
std::shared_ptr<ucx_plane> start_data_plane(const config& cfg, const std::string& who);

// Offers the worker's address to every shard; the address each answered
// with (empty: that shard's parts stay in band). Logs one line: which servers get bytes over UCX,
// and which in band (and why).
std::vector<std::string> shake_hands(caf::actor_system& sys, ucx_plane& plane, const config& cfg,
                              const std::vector<shard_actor>& shards,
                              const std::vector<std::string>& names, const std::string& who);

}  // namespace kvs::detail
