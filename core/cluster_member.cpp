#include "core/cluster_member.hpp"

#include <optional>

#include <caf/all.hpp>

#include "core/network.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

cluster_member::cluster_member(caf::actor_system& sys, const config& cfg,
                               const caf::actor& liveness)
    : sys_(sys), cfg_(cfg) {
  coord_ = connect<coordinator_actor>(sys_, cfg_.root_uri, static_cast<uint16_t>(cfg_.root_port),
                                      cfg_.request_timeout, "the scheduler");
  // Answered once every worker and server has registered.
  reg_ = ask<registration>(cfg_.request_timeout, "registration with the scheduler",
                           register_atom::value, node_info{"worker", cfg_.node_host, 0}, liveness);
}

template <class Reply, class... Ts>
Reply cluster_member::ask(std::chrono::milliseconds limit, const std::string& what, Ts&&... xs) {
  caf::scoped_actor self{sys_};
  std::optional<error> failure;
  Reply out{};
  self->request(coord_, limit, std::forward<Ts>(xs)...)
      .receive([&](Reply& r) { out = std::move(r); },
               [&](caf::error& e) { failure = from_caf_error(e, what); });
  if (failure)
    throw *failure;
  return out;
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
  ask<ok_atom>(10 * cfg_.request_timeout, "barrier", barrier_atom::value, reg_.rank);
}

void cluster_member::command(int head, const std::string& body) {
  ask<ok_atom>(2 * cfg_.request_timeout, "command " + std::to_string(head) + " to the servers",
               command_atom::value, static_cast<int32_t>(head), body);
}

void cluster_member::done() { caf::anon_send(coord_, done_atom::value, reg_.rank); }

}  // namespace kvs::detail
