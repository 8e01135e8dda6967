#pragma once
// A caller thread's request to an actor: waits for the answer (or `limit`)
// and throws the failure as kvs::error naming `what`. For control calls
// (registration, set_updater, state files), not the data path.
#include <chrono>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/errors.hpp"

namespace kvs::detail {

template <class Reply, class Handle, class... Ts>
Reply blocking_request(caf::actor_system& sys, const Handle& dest, std::chrono::milliseconds limit,
                       const std::string& what, Ts&&... xs) {
  std::optional<kvs::error> failure;
  Reply out{};
  caf::scoped_actor self{sys};
  self->request(dest, limit, std::forward<Ts>(xs)...)
      .receive([&](Reply& r) { out = std::move(r); },
               [&](caf::error& e) { failure = from_caf_error(e, what); });
  if (failure)
    throw *failure;
  return out;
}

}  // namespace kvs::detail
