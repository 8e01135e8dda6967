#include "actors/coordinator.hpp"

#include <optional>
#include <set>

#include <caf/all.hpp>

#include "actors/timed_request.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

struct member {
  node_info info;
  caf::actor_addr addr;
};

struct coordinator_state {
  coordinator_options opts;
  std::vector<member> servers, workers;
  std::vector<server_actor> server_handles;
  std::vector<std::pair<caf::typed_response_promise<registration>, std::pair<bool, int32_t>>>
      waiting_registrations;  // (promise, (is_server, rank))
  std::vector<caf::typed_response_promise<ok_atom>> barrier_waiting;
  std::set<int32_t> barrier_arrived, done_workers, dead_workers;
  detail::deadline_book deadlines;
};

using impl = coordinator_actor::stateful_pointer<coordinator_state>;

bool complete(const coordinator_state& st) {
  return static_cast<int>(st.servers.size()) == st.opts.num_servers &&
         static_cast<int>(st.workers.size()) == st.opts.num_workers;
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

template <class Handle>
caf::result<registration> enroll(impl self, node_info& info, const Handle& handle,
                                 bool is_server) {
  auto& st = self->state;
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
  if constexpr (std::is_same<Handle, server_actor>::value)
    st.server_handles.push_back(handle);
  self->monitor(handle);
  auto rp = self->make_response_promise<registration>();
  st.waiting_registrations.emplace_back(rp, std::make_pair(is_server, rank));
  if (complete(st)) {
    for (auto& [p, who] : st.waiting_registrations)
      p.deliver(answer_for(st, who.first, who.second));
    st.waiting_registrations.clear();
  }
  return rp;
}

void release_barrier(impl self) {
  auto& st = self->state;
  int alive = st.opts.num_workers - static_cast<int>(st.dead_workers.size());
  detail::failure f;
  if (!st.dead_workers.empty())
    f = kvs::error(errc::peer_down,
                   "barrier: worker rank " + std::to_string(*st.dead_workers.begin()) + " is down");
  else if (static_cast<int>(st.barrier_arrived.size()) < alive)
    return;
  for (auto& p : st.barrier_waiting)
    detail::reply(p, f, ok_atom::value);
  st.barrier_waiting.clear();
  st.barrier_arrived.clear();
}

void maybe_finish(impl self) {
  auto& st = self->state;
  if (static_cast<int>(st.done_workers.size() + st.dead_workers.size()) < st.opts.num_workers)
    return;
  for (auto& s : st.server_handles)
    self->send(s, stop_atom::value);
  self->quit();
}

void on_down(impl self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (size_t i = 0; i < st.workers.size(); ++i) {
    if (st.workers[i].addr != msg.source)
      continue;
    auto rank = static_cast<int32_t>(i);
    if (st.done_workers.count(rank) > 0)
      return;  // it finished, then went away
    st.dead_workers.insert(rank);
    for (auto& s : st.server_handles)
      self->send(s, worker_down_atom::value, rank);
    release_barrier(self);
    maybe_finish(self);
    return;
  }
  // A server went away: workers watch the servers themselves; forget it here.
  for (size_t i = 0; i < st.servers.size(); ++i)
    if (st.servers[i].addr == msg.source && i < st.server_handles.size())
      st.server_handles[i] = nullptr;
}

coordinator_actor::behavior_type coordinator(impl self, coordinator_options opts) {
  self->state.opts = opts;
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  return {
      [=](register_atom, node_info& info, caf::actor& liveness) {
        return enroll(self, info, liveness, false);
      },
      [=](register_atom, node_info& info, server_actor& node) {
        return enroll(self, info, node, true);
      },
      [=](barrier_atom, int32_t rank) -> caf::result<ok_atom> {
        auto rp = self->make_response_promise<ok_atom>();
        self->state.barrier_waiting.push_back(rp);
        self->state.barrier_arrived.insert(rank);
        release_barrier(self);
        return rp;
      },
      [=](command_atom, int32_t head, std::string& body) -> caf::result<ok_atom> {
        auto& st = self->state;
        auto rp = self->make_response_promise<ok_atom>();
        detail::fan_out<ok_atom>(
            self, st.deadlines, st.opts.request_timeout, st.server_handles,
            [head](size_t i) {
              return "command " + std::to_string(head) + " on server " + std::to_string(i);
            },
            [](size_t, uint64_t) {}, [](ok_atom) {},
            [rp](std::optional<kvs::error> f) mutable { detail::reply(rp, f, ok_atom::value); },
            command_atom::value, head, body);
        return rp;
      },
      [=](done_atom, int32_t rank) {
        self->state.done_workers.insert(rank);
        maybe_finish(self);
      },
      [=](tick_atom) {
        detail::on_tick(self, self->state.deadlines, self->state.opts.request_timeout);
      },
  };
}

}  // namespace

coordinator_actor spawn_coordinator(caf::actor_system& sys, coordinator_options opts) {
  return sys.spawn(coordinator, opts);
}

}  // namespace kvs
