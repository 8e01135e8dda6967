#pragma once
// A caller thread's request to an actor: waits for the answer (or `limit`)
// and throws the failure as kvs::error naming `what`. The request is made by
// a small helper actor that watches the destination, so a destination that
// ends before it answers (a remote node lost: killed, or silent past the
// heartbeat timeout) fails the request at once with peer_down naming `who`,
// instead of after the whole limit. For control calls (registration,
// barriers, server commands, set_updater, state files), not the data path.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/spawn_function.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

template <class Reply, class Handle, class... Ts>
Reply watched_request(caf::actor_system& sys, const Handle& dest, std::chrono::milliseconds limit,
                      const std::string& what, const std::string& who, Ts&&... xs) {
  using result = std::variant<Reply, kvs::error>;
  kvs::error gone{errc::peer_down, what + ": " + who + " is down"};
  if (!dest)
    throw gone;
  auto out = std::make_shared<std::promise<result>>();
  auto answered = out->get_future();
  auto args = std::make_tuple(std::decay_t<Ts>(std::forward<Ts>(xs))...);
  auto helper = spawn_function(sys, [=](caf::event_based_actor* self) mutable -> caf::behavior {
    auto done = std::make_shared<bool>(false);
    auto finish = [self, out, done](result r) {
      if (std::exchange(*done, true))
        return;
      out->set_value(std::move(r));
      self->quit();
    };
    self->set_down_handler([finish, gone](caf::down_msg&) { finish(gone); });
    self->monitor(dest);
    std::apply(
        [&](auto&... a) {
          self->request(dest, limit, a...)
              .then([finish](Reply& r) { finish(std::move(r)); },
                    [finish, gone, what](caf::error& e) {
                      auto f = from_caf_error(e, what);
                      // CAF's own "receiver down": name the peer.
                      finish(f.code() == errc::peer_down && e.category() != error_category()
                                 ? gone
                                 : f);
                    });
        },
        args);
    return {[](tick_atom) {}};  // lives until finish() quits
  });
  // CAF's own timeout answers at `limit`; the margin only guards against a
  // helper that never ran.
  if (answered.wait_for(limit + std::chrono::seconds(2)) != std::future_status::ready) {
    caf::anon_send_exit(helper, caf::exit_reason::user_shutdown);
    throw kvs::error(errc::timeout, what + ": no answer from " + who + " within " +
                                        std::to_string(limit.count()) + " ms");
  }
  auto r = answered.get();
  if (auto* e = std::get_if<kvs::error>(&r))
    throw *e;
  return std::get<Reply>(std::move(r));
}

// watched_request for a destination in this process.
template <class Reply, class Handle, class... Ts>
Reply blocking_request(caf::actor_system& sys, const Handle& dest, std::chrono::milliseconds limit,
                       const std::string& what, Ts&&... xs) {
  return watched_request<Reply>(sys, dest, limit, what, "the actor that should answer",
                                std::forward<Ts>(xs)...);
}

}  // namespace kvs::detail
