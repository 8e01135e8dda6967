#include "actors/function_updater.hpp"

#include <caf/all.hpp>

#include "messages/errors.hpp"

namespace kvs {

namespace {

updater_actor::behavior_type function_updater(updater_actor::pointer, updater fn) {
  return {
      [fn](update_atom, update_request& req) -> caf::result<void> {
        auto f = detail::capture([&] { fn(req.key, req.grad, req.weight); },
                                 "the updater for key " + req.key.to_string() + " threw: ");
        req = update_request{};  // as the optimizer updater: no copy of the value next round
        return detail::reply(f);
      },
  };
}

}  // namespace

updater_actor spawn_function_updater(caf::actor_system& sys, updater fn) {
  return sys.spawn<caf::detached>(function_updater, std::move(fn));
}

}  // namespace kvs
