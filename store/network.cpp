#include "store/network.hpp"

#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/coordinator.hpp"
#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "actors/server_node.hpp"
#include "actors/spawn_function.hpp"
#include "core/log.hpp"
#include "core/network.hpp"
#include "core/telemetry.hpp"
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

// Blocks until `handle` has terminated; returns why it did.
template <class Handle>
caf::error await_end(const Handle& handle) {
  std::promise<caf::error> ended;
  auto f = ended.get_future();
  handle->attach_functor([&ended](const caf::error& reason) { ended.set_value(reason); });
  return f.get();
}

// Waits up to `limit` for `handle` (a remote actor: its proxy ends when the
// connection does) to terminate.
template <class Handle>
void await_end_for(const Handle& handle, std::chrono::milliseconds limit) {
  auto ended = std::make_shared<std::promise<void>>();
  auto f = ended->get_future();
  handle->attach_functor([ended](const caf::error&) { ended->set_value(); });
  f.wait_for(limit);
}

std::string scheduler_name(const config& cfg) {
  return "the scheduler (" + cfg.root_uri + ":" + std::to_string(cfg.root_port) + ")";
}

void run_scheduler(caf::actor_system& sys, const config& cfg) {
  coordinator_options opts;
  opts.num_workers = cfg.num_workers;
  opts.num_servers = cfg.num_servers;
  opts.request_timeout = cfg.request_timeout;
  opts.startup_timeout = cfg.startup_timeout;
  opts.barrier_timeout = cfg.barrier_timeout;
  opts.stall_warning = cfg.stall_warning;
  auto coord = spawn_coordinator(sys, opts);
  auto port = publish(coord, static_cast<uint16_t>(cfg.root_port), cfg.root_uri);
  if (!port) {
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    throw error(errc::invalid_config, "the scheduler cannot listen on " + cfg.root_uri + ":" +
                                          std::to_string(cfg.root_port) +
                                          " (DMLC_PS_ROOT_URI/DMLC_PS_ROOT_PORT): " +
                                          sys.render(port.error()));
  }
  auto reason = await_end(coord);
  if (reason && reason.category() == error_category())  // the job failed (the coordinator logged why)
    throw from_caf_error(reason, "the scheduler");
}

// Ends the server node when the scheduler goes away before it stopped the
// servers (the job is over), with a peer_down error as the exit reason. The
// scheduler's `stop` reaches the node's mailbox before the connection's end
// reaches the watcher, and the node reads its mailbox in order: after a
// `stop` the node ends normally, whatever the watcher sends.
caf::actor watch_scheduler(caf::actor_system& sys, const coordinator_actor& coord,
                           const server_actor& node, std::string name) {
  return spawn_function(sys, [coord, node, name](caf::event_based_actor* self) {
    self->monitor(coord);
    self->set_down_handler([self, node, name](caf::down_msg& msg) {
      if (msg.reason == caf::exit_reason::normal)
        self->send_exit(node, caf::exit_reason::user_shutdown);
      else
        self->send_exit(node, to_caf_error(errc::peer_down,
                                           name + " is down (" + self->system().render(msg.reason) +
                                               "); the job is over"));
      self->quit();
    });
    return caf::behavior{[](tick_atom) {}};
  });
}

void run_server(caf::actor_system& sys, const config& cfg) {
  auto reducer = spawn_cpu_reducer(sys, cfg.reduction_threads, cfg.bigarray_bound);
  shard_options so;
  so.num_workers = cfg.num_workers;
  so.inline_bound = cfg.inline_bound;
  so.request_timeout = cfg.request_timeout;
  so.stall_warning = cfg.stall_warning;
  so.shared_memory = cfg.transport != "caf";
  so.telemetry = std::make_shared<telemetry>(cfg.timeline, "server");
  auto shard = spawn_key_shard(sys, reducer_set{reducer, {}}, so);
  auto node = spawn_server_node(sys, shard, cfg.request_timeout);
  caf::actor watcher;
  coordinator_actor coord;
  auto stop_all = [&] {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(reducer, caf::exit_reason::user_shutdown);
    if (watcher)
      caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  };
  try {
    auto port = publish(shard, 0, cfg.node_host);
    if (!port)
      throw error(errc::invalid_config, "the server cannot listen on " + cfg.node_host +
                                            " (DMLC_NODE_HOST/DMLC_INTERFACE): " +
                                            sys.render(port.error()));
    coord = connect<coordinator_actor>(sys, cfg.root_uri, static_cast<uint16_t>(cfg.root_port),
                                            cfg.startup_timeout, "the scheduler");
    watcher = watch_scheduler(sys, coord, node, scheduler_name(cfg));
    auto reg = watched_request<registration>(
        sys, coord, cfg.startup_timeout + cfg.request_timeout, "server registration",
        scheduler_name(cfg), register_atom::value, node_info{"server", cfg.node_host, *port}, node);
    so.telemetry->set_path(timeline_path(cfg.timeline, "server", reg.rank),
                           "server " + std::to_string(reg.rank));
    log::info("kvs server: rank " + std::to_string(reg.rank) + " serves on " + cfg.node_host +
              ":" + std::to_string(*port));
  } catch (...) {
    stop_all();
    throw;
  }
  auto reason = await_end(node);
  // Stopped by the scheduler: it ends once every server answered the stop,
  // so wait for it to go before closing our connections (over TLS, CAF
  // drops what is still unsent when a system ends, our answer too).
  if (!reason || reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown)
    await_end_for(coord, cfg.request_timeout);
  stop_all();
  if (reason && reason.category() == error_category()) {  // the scheduler is gone
    auto why = from_caf_error(reason, "server");
    log::warn("kvs server: " + std::string(why.what()) + ", stopping");
    throw error(errc::peer_down, "server: " + std::string(why.what()));
  }
}

}  // namespace

}  // namespace kvs::detail

namespace kvs {

void serve(const config& given) {
  auto cfg = given.resolved_cluster();
  detail::log::set_level(cfg.log_level);
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
