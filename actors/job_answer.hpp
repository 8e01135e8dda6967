#pragma once
// The answer of a device reducer to one job: ok, or the kvs::error the job
// threw, as a caf::error for the requester. Shared by every reducer actor.
#include <caf/result.hpp>

#include "messages/errors.hpp"
#include "messages/reducer_actor.hpp"

namespace kvs::detail {

template <class Fn>
caf::result<ok_atom> answer_job(Fn&& run) {
  try {
    run();
  } catch (const kvs::error& e) {
    return to_caf_error(e);
  }
  return ok_atom::value;
}

}  // namespace kvs::detail
