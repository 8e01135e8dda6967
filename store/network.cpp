#include "store/network.hpp"

#include <future>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/coordinator.hpp"
#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "actors/server_node.hpp"
#include "core/network.hpp"
#include "kvs/kvstore.hpp"
#include "messages/cluster_actors.hpp"
#include "messages/errors.hpp"
#include "messages/message_types.hpp"
#include "messages/shard_actor.hpp"
#include "store/blocking_request.hpp"

namespace kvs::detail {

void configure_network(caf::actor_system_config& sc, const config& cfg) {
  configure_middleman(sc, cfg);
  add_message_types(sc);
}

namespace {

// Blocks until `handle` has terminated.
template <class Handle>
void await_end(const Handle& handle) {
  std::promise<void> ended;
  auto f = ended.get_future();
  handle->attach_functor([&ended] { ended.set_value(); });
  f.wait();
}

void run_scheduler(caf::actor_system& sys, const config& cfg) {
  auto coord = spawn_coordinator(sys, coordinator_options{cfg.num_workers, cfg.num_servers,
                                                          cfg.request_timeout});
  auto port = sys.middleman().publish(coord, static_cast<uint16_t>(cfg.root_port),
                                      cfg.root_uri.c_str(), true);
  if (!port) {
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    throw error(errc::invalid_config, "the scheduler cannot listen on " + cfg.root_uri + ":" +
                                          std::to_string(cfg.root_port) +
                                          " (DMLC_PS_ROOT_URI/DMLC_PS_ROOT_PORT): " +
                                          sys.render(port.error()));
  }
  await_end(coord);
}

void run_server(caf::actor_system& sys, const config& cfg) {
  auto reducer = spawn_cpu_reducer(sys, cfg.reduction_threads, cfg.bigarray_bound);
  shard_options so;
  so.num_workers = cfg.num_workers;
  so.inline_bound = cfg.inline_bound;
  so.request_timeout = cfg.request_timeout;
  so.stall_warning = cfg.stall_warning;
  auto shard = spawn_key_shard(sys, reducer_set{reducer, {}}, so);
  auto node = spawn_server_node(sys, shard, cfg.request_timeout);
  auto stop_all = [&] {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(reducer, caf::exit_reason::user_shutdown);
  };
  try {
    auto port = sys.middleman().publish(shard, 0, cfg.node_host.c_str(), true);
    if (!port)
      throw error(errc::invalid_config, "the server cannot listen on " + cfg.node_host +
                                            " (DMLC_NODE_HOST/DMLC_INTERFACE): " +
                                            sys.render(port.error()));
    auto coord = connect<coordinator_actor>(sys, cfg.root_uri, static_cast<uint16_t>(cfg.root_port),
                                            cfg.request_timeout, "the scheduler");
    blocking_request<registration>(sys, coord, cfg.request_timeout, "server registration",
                                   register_atom::value, node_info{"server", cfg.node_host, *port},
                                   node);
  } catch (...) {
    stop_all();
    throw;
  }
  await_end(node);
  stop_all();
}

}  // namespace

}  // namespace kvs::detail

namespace kvs {

void serve(const config& given) {
  auto cfg = given.resolved_cluster();
  if (cfg.role == "worker")
    throw error(errc::invalid_config, "serve() runs a server or the scheduler, but DMLC_ROLE "
                                      "(config.role) is worker: a worker calls create()");
  caf::actor_system_config sc;
  detail::configure_network(sc, cfg);
  caf::actor_system sys{sc};
  if (cfg.role == "scheduler")
    detail::run_scheduler(sys, cfg);
  else
    detail::run_server(sys, cfg);
}

}  // namespace kvs
