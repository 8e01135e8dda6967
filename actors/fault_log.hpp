#pragma once
// The last resort of an actor's handler: an error that no request can be
// answered with (it came from the actor's own bookkeeping) is one line on
// stderr, and the actor serves on. Errors that belong to a request are
// answered through messages/errors.hpp instead.
#include <cstdio>
#include <string>

#include "kvs/error.hpp"

namespace kvs::detail {

inline void log_fault(const std::string& where, const kvs::error& err) {
  auto line = "kvs: " + where + ": " + err.what() + " (it serves on)\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace kvs::detail
