#pragma once
// The distributed roles' interfaces: the coordinator (scheduler process) and
// the server node (one per server process, beside its key shard).
#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/actor.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/reducer_actor.hpp"

namespace kvs {

// A node introducing itself: its role and, for a server, where its key shard
// is published.
struct node_info {
  std::string role;
  std::string host;
  uint16_t port = 0;
};

// The coordinator's answer once the cluster is complete.
struct registration {
  int32_t rank = 0;        // among the nodes of its role
  int32_t num_workers = 0;
  int32_t num_servers = 0;
  int32_t local_rank = 0;  // among the workers on the same host
  std::vector<node_info> servers;  // by server rank
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("node_info"), x.role, x.host, x.port);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registration& x) {
  return f(caf::meta::type_name("registration"), x.rank, x.num_workers, x.num_servers,
           x.local_rank, x.servers);
}

// command: runs a server command (MXNet's heads: 0 set optimizer, 1 multi-
// precision, 2 stop, 3 sync mode, 4 gradient compression, 5 profiler).
// worker_down: a worker is gone. stop: the job has ended.
using server_actor =
    caf::typed_actor<caf::replies_to<command_atom, int32_t, std::string>::with<ok_atom>,
                     caf::reacts_to<worker_down_atom, int32_t>, caf::reacts_to<stop_atom>,
                     caf::reacts_to<tick_atom>>;

// register: answered with the rank and the server list once every node has
// registered; a server sends its server_actor, a worker an actor that lives
// as long as its store (the coordinator watches both). barrier: answered once every
// worker has arrived. command: answered once every server ran it. done: a
// worker has finished (answered at once, so the worker knows it arrived
// before it closes its connections: TLS drops what is unsent then); when
// all have, the servers are stopped and the coordinator ends.
using coordinator_actor =
    caf::typed_actor<caf::replies_to<register_atom, node_info, caf::actor>::with<registration>,
                     caf::replies_to<register_atom, node_info, server_actor>::with<registration>,
                     caf::replies_to<barrier_atom, int32_t>::with<ok_atom>,
                     caf::replies_to<command_atom, int32_t, std::string>::with<ok_atom>,
                     caf::replies_to<done_atom, int32_t>::with<ok_atom>,
                     caf::reacts_to<tick_atom>>;

}  // namespace kvs
