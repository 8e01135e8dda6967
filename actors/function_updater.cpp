#include "actors/function_updater.hpp"

#include <caf/all.hpp>

#include "messages/errors.hpp"

namespace kvs {

namespace {

updater_actor::behavior_type function_updater(updater_actor::pointer, updater fn) {
  return {
      [fn](update_atom, update_request& req) -> caf::result<void> {
        try {
          fn(req.key, req.grad, req.weight);
        } catch (const kvs::error& e) {
          return to_caf_error(e);
        } catch (const std::exception& e) {
          return to_caf_error(errc::invalid_argument, "the updater for key " +
                                                          req.key.to_string() + " threw: " + e.what());
        }
        return caf::unit;
      },
  };
}

}  // namespace

updater_actor spawn_function_updater(caf::actor_system& sys, updater fn) {
  return sys.spawn<caf::detached>(function_updater, std::move(fn));
}

}  // namespace kvs
