#include "actors/server_node.hpp"

#include <caf/all.hpp>

#include "actors/optimizer_updater.hpp"
#include "actors/timed_request.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

// MXNet's command heads (kvstore_dist_server.h).
enum command_head : int32_t {
  set_optimizer = 0,
  set_multi_precision = 1,
  stop_server = 2,
  sync_mode = 3,
  set_gradient_compression = 4,
  set_profiler = 5,
};

struct server_state {
  shard_actor shard;
  updater_actor updater;
  std::shared_ptr<optimizer> opt;
  bool multi_precision = false;
  std::chrono::milliseconds timeout{30000};
  detail::deadline_book deadlines;
};

using impl = server_actor::stateful_pointer<server_state>;
using promise = caf::typed_response_promise<ok_atom>;

// Installs the optimizer (with multi-precision if asked) in the shard.
void install(impl self, promise rp) {
  auto& st = self->state;
  auto numbers = st.opt->numbers();
  if (st.multi_precision)
    numbers["multi_precision"] = 1;
  auto opt = create_optimizer(st.opt->name(), numbers, st.opt->options());
  auto handle = spawn_optimizer_updater(self->home_system(), opt);
  auto setting = optimizer_setting(handle, opt);
  detail::timed_request<ok_atom>(
      self, st.deadlines, st.timeout, st.shard, "set optimizer",
      [self, rp, handle](ok_atom) mutable {
        if (self->state.updater)
          self->send_exit(self->state.updater, caf::exit_reason::user_shutdown);
        self->state.updater = handle;
        rp.deliver(ok_atom::value);
      },
      [self, rp, handle](kvs::error e) mutable {
        self->send_exit(handle, caf::exit_reason::user_shutdown);
        detail::reply(rp, e, ok_atom::value);
      },
      updater_atom::value, setting);
}

void stop(impl self) {
  if (self->state.updater)
    self->send_exit(self->state.updater, caf::exit_reason::user_shutdown);
  self->quit();
}

// Starts the command; `rp` gets the answer (now or when the shard answers).
// Throws kvs::error for a command it cannot run.
void start_command(impl self, promise rp, int32_t head, const std::string& body) {
  auto& st = self->state;
  switch (head) {
    case set_optimizer:
      st.opt = optimizer::deserialize(body);
      install(self, rp);
      return;
    case set_multi_precision:
      st.multi_precision = body.empty() || body != "0";
      if (st.opt)
        install(self, rp);
      else
        rp.deliver(ok_atom::value);
      return;
    case stop_server:
      rp.deliver(ok_atom::value);
      stop(self);
      return;
    case sync_mode:
      detail::timed_request<ok_atom>(
          self, st.deadlines, st.timeout, st.shard, "sync mode",
          [rp](ok_atom) mutable { rp.deliver(ok_atom::value); },
          [rp](kvs::error e) mutable { detail::reply(rp, e, ok_atom::value); }, sync_atom::value,
          body != "0");
      return;
    case set_gradient_compression:  // body "<type>,<threshold>[,pull]" (the shard checks it)
      detail::timed_request<ok_atom>(
          self, st.deadlines, st.timeout, st.shard, "gradient compression",
          [rp](ok_atom) mutable { rp.deliver(ok_atom::value); },
          [rp](kvs::error e) mutable { detail::reply(rp, e, ok_atom::value); },
          compression_atom::value, body);
      return;
    case set_profiler:
      throw kvs::error(errc::unsupported, "server command 5 (profiler) is not supported");
    default:
      throw kvs::error(errc::invalid_argument,
                       "unknown server command head " + std::to_string(head) +
                           "; known: 0 optimizer, 1 multi-precision, 2 stop, 3 sync mode, "
                           "4 gradient compression, 5 profiler");
  }
}

caf::result<ok_atom> run_command(impl self, int32_t head, const std::string& body) {
  auto rp = self->make_response_promise<ok_atom>();
  // The promise owns the answer once made: errors go through it too.
  if (auto f = detail::capture([&] { start_command(self, rp, head, body); }))
    detail::reply(rp, f, ok_atom::value);
  return rp;
}

server_actor::behavior_type server_node(impl self, shard_actor shard,
                                        std::chrono::milliseconds timeout) {
  self->state.shard = std::move(shard);
  self->state.timeout = timeout;
  return {
      [=](command_atom, int32_t head, std::string& body) { return run_command(self, head, body); },
      [=](worker_down_atom, int32_t rank) { self->send(self->state.shard, worker_down_atom::value, rank); },
      [=](stop_atom) { stop(self); },
      [=](tick_atom) { detail::on_tick(self, self->state.deadlines, self->state.timeout); },
  };
}

}  // namespace

server_actor spawn_server_node(caf::actor_system& sys, shard_actor shard,
                               std::chrono::milliseconds request_timeout) {
  return sys.spawn(server_node, std::move(shard), request_timeout);
}

}  // namespace kvs
