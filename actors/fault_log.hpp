#pragma once
// The last resort of an actor's handler: an error that no request can be
// answered with (it came from the actor's own bookkeeping) is one line on
// stderr, and the actor serves on. Errors that belong to a request are
// answered through messages/errors.hpp instead.
#include <string>

#include "core/log.hpp"
#include "kvs/error.hpp"

namespace kvs::detail {

inline void log_fault(const std::string& where, const kvs::error& err) {
  log::warn("kvs: " + where + ": " + err.what() + " (it serves on)");
}

}  // namespace kvs::detail
