#include "actors/coordinator.hpp"

#include <algorithm>
#include <iostream>
#include <optional>
#include <set>

#include <caf/all.hpp>

#include "actors/timed_request.hpp"
#include "actors/wait_bounds.hpp"
#include "core/log.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

using clock = std::chrono::steady_clock;

struct member {
  node_info info;
  caf::actor_addr addr;
};

struct coordinator_state {
  coordinator_options opts;
  std::vector<member> servers, workers;
  std::vector<server_actor> server_handles;  // null once the server is down
  std::vector<std::set<uint64_t>> server_requests;  // open requests to each server
  std::vector<std::pair<caf::typed_response_promise<registration>, std::pair<bool, int32_t>>>
      waiting_registrations;  // (promise, (is_server, rank))
  std::vector<caf::typed_response_promise<ok_atom>> barrier_waiting;
  std::set<int32_t> barrier_arrived, done_workers, dead_workers;
  detail::deadline_book deadlines;
  clock::time_point started = clock::now(), startup_warned = started;
  clock::time_point barrier_since, barrier_warned;
  bool finishing = false;  // stopping the servers
};

using impl = coordinator_actor::stateful_pointer<coordinator_state>;

// The scheduler's lines (core/log.hpp): trouble is a warning, progress info.
void log(const std::string& line) { detail::log::warn("kvs scheduler: " + line); }
void note(const std::string& line) { detail::log::info("kvs scheduler: " + line); }

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

std::string seconds_since(clock::time_point t) {
  auto s = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t).count();
  return std::to_string(s / 1000) + "." + std::to_string(s % 1000 / 100) + " s";
}

// "rank 2", "ranks 0, 3".
std::string ranks(const std::vector<int32_t>& list) {
  std::string out = list.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < list.size(); ++i)
    out += (i > 0 ? ", " : "") + std::to_string(list[i]);
  return out;
}

std::string server_name(const coordinator_state& st, size_t i) {
  auto& info = st.servers[i].info;
  return "server " + std::to_string(i) + " (" + info.host + ":" + std::to_string(info.port) + ")";
}

bool complete(const coordinator_state& st) {
  return static_cast<int>(st.servers.size()) == st.opts.num_servers &&
         static_cast<int>(st.workers.size()) == st.opts.num_workers;
}

// "workers: 1 of 2 registered (rank 1 missing); servers: 2 of 2 registered".
std::string registered_nodes(const coordinator_state& st) {
  auto role = [](const char* name, size_t have, int want) {
    std::string out = std::string(name) + ": " + std::to_string(have) + " of " +
                      std::to_string(want) + " registered";
    std::vector<int32_t> missing;
    for (auto r = static_cast<int32_t>(have); r < want; ++r)
      missing.push_back(r);
    return missing.empty() ? out : out + " (" + ranks(missing) + " missing)";
  };
  return role("workers", st.workers.size(), st.opts.num_workers) + "; " +
         role("servers", st.servers.size(), st.opts.num_servers);
}

// The alive workers a barrier still waits for.
std::vector<int32_t> barrier_missing(const coordinator_state& st) {
  std::vector<int32_t> out;
  for (int32_t r = 0; r < st.opts.num_workers; ++r)
    if (st.barrier_arrived.count(r) == 0 && st.dead_workers.count(r) == 0)
      out.push_back(r);
  return out;
}

registration answer_for(const coordinator_state& st, bool is_server, int32_t rank) {
  registration r;
  r.rank = rank;
  r.num_workers = st.opts.num_workers;
  r.num_servers = st.opts.num_servers;
  for (auto& s : st.servers)
    r.servers.push_back(s.info);
  if (!is_server)
    for (int32_t i = 0; i < rank; ++i)
      if (st.workers[i].info.host == st.workers[rank].info.host)
        ++r.local_rank;
  return r;
}

// Why a node's introduction is malformed, if it is: the role it registers
// as, and (for a server) an address its workers can connect to.
std::optional<kvs::error> check_node_info(const node_info& info, bool is_server) {
  const char* role = is_server ? "server" : "worker";
  auto bad = [&](const std::string& why) {
    return kvs::error(errc::invalid_argument, std::string("register as ") + role + ": " + why);
  };
  if (info.role != role)
    return bad("the message says role \"" + info.role.substr(0, 32) + "\"");
  if (info.host.size() > 255)
    return bad("a host name of " + std::to_string(info.host.size()) + " characters (at most 255)");
  for (unsigned char c : info.host)
    if (c <= ' ' || c >= 127)
      return bad("the host name has the character code " + std::to_string(c));
  if (is_server && (info.host.empty() || info.port == 0))
    return bad("a server needs a host and a port, got \"" + info.host + "\":" +
               std::to_string(info.port));
  return std::nullopt;
}

// Why a rank in a worker's message is not one of the job's workers, if not.
std::optional<kvs::error> check_worker_rank(const coordinator_state& st, int32_t rank,
                                            const char* what) {
  if (rank >= 0 && rank < st.opts.num_workers)
    return std::nullopt;
  return kvs::error(errc::invalid_argument, std::string(what) + ": worker rank " +
                                                std::to_string(rank) + " is not one of the " +
                                                std::to_string(st.opts.num_workers) + " workers");
}

template <class Handle>
caf::result<registration> enroll(impl self, node_info& info, const Handle& handle,
                                 bool is_server) {
  auto& st = self->state;
  if (auto f = check_node_info(info, is_server)) {
    log(std::string(f->what()) + " (refused)");
    return detail::reply(f, registration{});
  }
  auto& list = is_server ? st.servers : st.workers;
  int limit = is_server ? st.opts.num_servers : st.opts.num_workers;
  if (static_cast<int>(list.size()) >= limit)
    return detail::reply(kvs::error(errc::invalid_config,
                                    "the cluster already has its " + std::to_string(limit) + " " +
                                        (is_server ? "servers" : "workers") + " (DMLC_NUM_" +
                                        (is_server ? "SERVER" : "WORKER") + ")"),
                         registration{});
  auto rank = static_cast<int32_t>(list.size());
  list.push_back(member{info, handle.address()});
  if constexpr (std::is_same<Handle, server_actor>::value) {
    st.server_handles.push_back(handle);
    st.server_requests.emplace_back();
  }
  self->monitor(handle);
  note(std::string(is_server ? "server " : "worker rank ") + std::to_string(rank) + " joined (" +
       info.host + ")");
  auto rp = self->make_response_promise<registration>();
  st.waiting_registrations.emplace_back(rp, std::make_pair(is_server, rank));
  if (complete(st)) {
    note("cluster complete: " + registered_nodes(st));
    for (auto& [p, who] : st.waiting_registrations)
      p.deliver(answer_for(st, who.first, who.second));
    st.waiting_registrations.clear();
  }
  return rp;
}

void answer_barrier(impl self, const detail::failure& f) {
  auto& st = self->state;
  for (auto& p : st.barrier_waiting)
    detail::reply(p, f, ok_atom::value);
  st.barrier_waiting.clear();
  st.barrier_arrived.clear();
}

// Answers the barrier when every alive worker arrived, fails it when a
// worker it waits for is dead or has finished.
void release_barrier(impl self) {
  auto& st = self->state;
  if (st.barrier_waiting.empty())
    return;
  if (!st.dead_workers.empty())
    return answer_barrier(self, kvs::error(errc::peer_down,
                                           "barrier: worker rank " +
                                               std::to_string(*st.dead_workers.begin()) +
                                               " is down"));
  auto missing = barrier_missing(st);
  for (auto r : missing)
    if (st.done_workers.count(r) > 0)
      return answer_barrier(self, kvs::error(errc::peer_down,
                                             "barrier: worker rank " + std::to_string(r) +
                                                 " has finished (its store is gone)"));
  if (missing.empty())
    answer_barrier(self, std::nullopt);
}

caf::result<ok_atom> on_barrier(impl self, int32_t rank) {
  auto& st = self->state;
  if (auto f = check_worker_rank(st, rank, "barrier")) {
    log(std::string(f->what()) + " (refused)");
    return detail::reply(f, ok_atom::value);
  }
  if (st.barrier_waiting.empty())
    st.barrier_since = st.barrier_warned = clock::now();
  auto rp = self->make_response_promise<ok_atom>();
  st.barrier_waiting.push_back(rp);
  st.barrier_arrived.insert(rank);
  release_barrier(self);
  return rp;
}

// When every worker is done or dead: stops the servers, then ends. The stop
// is a request (MXNet's command 2), and the coordinator ends once every
// server answered (or is gone): a server must not see the scheduler vanish
// before its stop, which the end of this process could otherwise cut off.
void maybe_finish(impl self) {
  auto& st = self->state;
  if (st.finishing ||
      static_cast<int>(st.done_workers.size() + st.dead_workers.size()) < st.opts.num_workers)
    return;
  st.finishing = true;
  detail::fan_out<ok_atom>(
      self, st.deadlines, detail::wait_bounds::coordinator_to_server(st.opts.request_timeout),
      st.server_handles,
      [self](size_t i) { return "stopping " + server_name(self->state, i); },
      [self](size_t i, uint64_t id) { self->state.server_requests[i].insert(id); },
      [](ok_atom) {}, [self](std::optional<kvs::error>) { self->quit(); }, command_atom::value,
      int32_t{2}, std::string{});
}

void on_worker_down(impl self, int32_t rank) {
  auto& st = self->state;
  if (st.done_workers.count(rank) > 0)
    return;  // it finished, then went away
  log("worker rank " + std::to_string(rank) + " is down");
  st.dead_workers.insert(rank);
  for (auto& s : st.server_handles)
    if (s)
      self->send(s, worker_down_atom::value, rank);
  release_barrier(self);
  maybe_finish(self);
}

// A server went away: workers watch the servers themselves; commands to it
// fail now, and later ones at once.
void on_server_down(impl self, size_t i) {
  auto& st = self->state;
  if (!st.server_handles[i])
    return;
  // Once every worker is done, the servers end after answering their stop:
  // that is the job ending, not a failure to warn about.
  if (st.finishing)
    detail::log::info("kvs scheduler: " + server_name(st, i) + " has stopped");
  else
    log(server_name(st, i) + " is down");
  st.server_handles[i] = nullptr;
  auto open = std::move(st.server_requests[i]);
  st.server_requests[i].clear();
  for (auto id : open)
    st.deadlines.fail(id, kvs::error(errc::peer_down, server_name(st, i) + " is down"));
}

void on_down(impl self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (size_t i = 0; i < st.workers.size(); ++i)
    if (st.workers[i].addr == msg.source)
      return on_worker_down(self, static_cast<int32_t>(i));
  for (size_t i = 0; i < st.servers.size(); ++i)
    if (st.servers[i].addr == msg.source)
      return on_server_down(self, i);
}

caf::result<ok_atom> fan_out_command(impl self, int32_t head, const std::string& body) {
  auto& st = self->state;
  auto rp = self->make_response_promise<ok_atom>();
  detail::fan_out<ok_atom>(
      self, st.deadlines, detail::wait_bounds::coordinator_to_server(st.opts.request_timeout),
      st.server_handles,
      [self, head](size_t i) {
        return "command " + std::to_string(head) + " on " + server_name(self->state, i);
      },
      [self](size_t i, uint64_t id) { self->state.server_requests[i].insert(id); },
      [](ok_atom) {},
      [rp](std::optional<kvs::error> f) mutable { detail::reply(rp, f, ok_atom::value); },
      command_atom::value, head, body);
  return rp;
}

// Start-up: logs the missing nodes every stall_warning; at startup_timeout
// fails every registration naming them and ends the coordinator.
void check_startup(impl self, clock::time_point now) {
  auto& st = self->state;
  if (complete(st))
    return;
  if (now - st.started >= st.opts.startup_timeout) {
    kvs::error e(errc::timeout, "the cluster is still incomplete after " +
                                    ms(st.opts.startup_timeout) + " (startup_timeout, "
                                    "KVS_STARTUP_TIMEOUT): " + registered_nodes(st));
    // No log line: serve() throws it, and the process says it once.
    for (auto& p : st.waiting_registrations)
      p.first.deliver(to_caf_error(e));
    st.waiting_registrations.clear();
    self->quit(to_caf_error(e));
    return;
  }
  if (now - st.startup_warned >= st.opts.stall_warning) {
    st.startup_warned = now;
    log("waiting " + seconds_since(st.started) + " for the cluster: " + registered_nodes(st));
  }
}

// A barrier: logs the ranks it waits for every stall_warning; at
// barrier_timeout fails it naming them.
void check_barrier(impl self, clock::time_point now) {
  auto& st = self->state;
  if (st.barrier_waiting.empty())
    return;
  auto missing = barrier_missing(st);
  auto arrived = std::to_string(st.barrier_arrived.size()) + " of " +
                 std::to_string(st.opts.num_workers) + " arrived";
  if (now - st.barrier_since >= st.opts.barrier_timeout) {
    kvs::error e(errc::timeout, "barrier: worker " + ranks(missing) + " did not arrive within " +
                                    ms(st.opts.barrier_timeout) + " (barrier_timeout, "
                                    "KVS_BARRIER_TIMEOUT; " + arrived + ")");
    log(e.what());
    answer_barrier(self, e);
    return;
  }
  if (now - st.barrier_warned >= st.opts.stall_warning) {
    st.barrier_warned = now;
    log("a barrier has waited " + seconds_since(st.barrier_since) + " for worker " +
        ranks(missing) + " (" + arrived + ")");
  }
}

std::chrono::milliseconds tick_period(const coordinator_options& o) {
  return detail::tick_interval(
      std::min({o.request_timeout, o.startup_timeout, o.barrier_timeout, o.stall_warning}));
}

// One periodic tick: request deadlines, start-up and barrier waits.
void on_tick(impl self) {
  auto& st = self->state;
  st.deadlines.expire();
  for (auto& ids : st.server_requests)
    for (auto i = ids.begin(); i != ids.end();)
      i = st.deadlines.is_open(*i) ? std::next(i) : ids.erase(i);
  auto now = clock::now();
  check_startup(self, now);
  check_barrier(self, now);
  self->delayed_send(self, tick_period(st.opts), tick_atom::value);
}

coordinator_actor::behavior_type coordinator(impl self, coordinator_options opts) {
  self->state.opts = opts;
  // The coordinator ticks all the time, so requests never arm their own.
  self->state.deadlines.tick_armed = true;
  self->delayed_send(self, tick_period(opts), tick_atom::value);
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  return {
      [=](register_atom, node_info& info, caf::actor& liveness) {
        return enroll(self, info, liveness, false);
      },
      [=](register_atom, node_info& info, server_actor& node) {
        return enroll(self, info, node, true);
      },
      [=](barrier_atom, int32_t rank) { return on_barrier(self, rank); },
      [=](command_atom, int32_t head, std::string& body) {
        return fan_out_command(self, head, body);
      },
      [=](done_atom, int32_t rank) -> caf::result<ok_atom> {
        if (auto f = check_worker_rank(self->state, rank, "done")) {
          log(std::string(f->what()) + " (ignored)");
          return to_caf_error(*f);
        }
        self->state.done_workers.insert(rank);
        release_barrier(self);
        maybe_finish(self);
        return ok_atom::value;
      },
      [=](tick_atom) { on_tick(self); },
  };
}

}  // namespace

coordinator_actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts) {
  return sys.spawn(coordinator, opts);
}

}  // namespace kvs
