#include "store/cluster_member.hpp"

#include <caf/all.hpp>

#include "actors/spawn_function.hpp"
#include "actors/wait_bounds.hpp"
#include "store/blocking_request.hpp"
#include "core/network.hpp"

namespace kvs::detail {

cluster_member::cluster_member(caf::actor_system& sys, const config& cfg,
                               const caf::actor& liveness)
    : sys_(sys),
      cfg_(cfg),
      scheduler_name_("the scheduler (" + cfg.root_uri + ":" + std::to_string(cfg.root_port) +
                      ")") {
  coord_ = connect<coordinator_actor>(sys_, cfg_.root_uri, static_cast<uint16_t>(cfg_.root_port),
                                      cfg_.startup_timeout, "the scheduler");
  watcher_ = spawn_function(sys_, [coord = coord_, down = scheduler_down_](caf::event_based_actor* self) {
    self->monitor(coord);
    self->set_down_handler([self, down](caf::down_msg&) {
      down->store(true);
      self->quit();
    });
    return caf::behavior{[](tick_atom) {}};
  });
  // Answered once every worker and server has registered; the scheduler
  // itself gives up at its startup_timeout and says who is missing, so wait
  // a little longer than that.
  reg_ = ask<registration>("registration with the scheduler",
                           cfg_.startup_timeout + cfg_.request_timeout, register_atom::value,
                           node_info{"worker", cfg_.node_host, 0}, liveness);
}

cluster_member::~cluster_member() { caf::anon_send_exit(watcher_, caf::exit_reason::user_shutdown); }

template <class Reply, class... Ts>
Reply cluster_member::ask(const std::string& what, std::chrono::milliseconds limit, Ts&&... xs) {
  check_scheduler(what);
  try {
    return watched_request<Reply>(sys_, coord_, limit, what, scheduler_name_,
                                  std::forward<Ts>(xs)...);
  } catch (const error& e) {
    // The request saw the coordinator end (the watcher may not have yet).
    if (e.code() == errc::peer_down && std::string(e.what()) == what + ": " + scheduler_name_ + " is down")
      scheduler_down_->store(true);
    throw;
  }
}

void cluster_member::check_scheduler(const std::string& what) const {
  if (scheduler_down_->load(std::memory_order_relaxed))
    throw error(errc::peer_down, what + ": " + scheduler_name_ + " is down; the job is over");
}

std::vector<shard_actor> cluster_member::connect_shards() {
  std::vector<shard_actor> out;
  auto names = shard_names();
  for (size_t i = 0; i < reg_.servers.size(); ++i)
    out.push_back(connect<shard_actor>(sys_, reg_.servers[i].host, reg_.servers[i].port,
                                       cfg_.startup_timeout, names[i]));
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
  // The coordinator fails a barrier at barrier_timeout naming the ranks that
  // never arrived (and logs them every stall_warning before); a dead worker
  // fails it at once.
  ask<ok_atom>("barrier", cfg_.barrier_timeout + cfg_.request_timeout, barrier_atom::value,
               reg_.rank);
}

void cluster_member::command(int head, const std::string& body) {
  ask<ok_atom>("command " + std::to_string(head) + " to the servers",
               wait_bounds::command(cfg_.request_timeout),
               command_atom::value, static_cast<int32_t>(head), body);
}

void cluster_member::done() {
  // A request, not a message: the worker closes its connections only once
  // the scheduler has it (over TLS, CAF drops what is unsent at the end).
  try {
    ask<ok_atom>("saying goodbye to the scheduler", cfg_.request_timeout, done_atom::value,
                 reg_.rank);
  } catch (const error&) {
    // The scheduler is gone or slow: the job is ending either way.
  }
}

}  // namespace kvs::detail
