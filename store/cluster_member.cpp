#include "store/cluster_member.hpp"

#include <caf/all.hpp>

#include "store/blocking_request.hpp"
#include "core/network.hpp"

namespace kvs::detail {

cluster_member::cluster_member(caf::actor_system& sys, const config& cfg,
                               const caf::actor& liveness)
    : sys_(sys), cfg_(cfg) {
  coord_ = connect<coordinator_actor>(sys_, cfg_.root_uri, static_cast<uint16_t>(cfg_.root_port),
                                      cfg_.request_timeout, "the scheduler");
  // Answered once every worker and server has registered.
  reg_ = blocking_request<registration>(sys_, coord_, cfg_.request_timeout,
                                        "registration with the scheduler", register_atom::value,
                                        node_info{"worker", cfg_.node_host, 0}, liveness);
}

std::vector<shard_actor> cluster_member::connect_shards() {
  std::vector<shard_actor> out;
  auto names = shard_names();
  for (size_t i = 0; i < reg_.servers.size(); ++i)
    out.push_back(connect<shard_actor>(sys_, reg_.servers[i].host, reg_.servers[i].port,
                                       cfg_.request_timeout, names[i]));
  return out;
}

std::vector<std::string> cluster_member::shard_names() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < reg_.servers.size(); ++i)
    out.push_back("server " + std::to_string(i) + " (" + reg_.servers[i].host + ":" +
                  std::to_string(reg_.servers[i].port) + ")");
  return out;
}

void cluster_member::barrier() {
  // Other workers may be slow for long (loading data, rank 0 initializing);
  // a dead one fails the barrier at once.
  blocking_request<ok_atom>(sys_, coord_, 10 * cfg_.request_timeout, "barrier", barrier_atom::value,
                            reg_.rank);
}

void cluster_member::command(int head, const std::string& body) {
  blocking_request<ok_atom>(sys_, coord_, 2 * cfg_.request_timeout,
                            "command " + std::to_string(head) + " to the servers",
                            command_atom::value, static_cast<int32_t>(head), body);
}

void cluster_member::done() { caf::anon_send(coord_, done_atom::value, reg_.rank); }

}  // namespace kvs::detail
