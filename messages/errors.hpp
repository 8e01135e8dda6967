#pragma once
// Errors in answers. kvs::error <-> caf::error: errors travel back to the
// requester as caf::error in category "kvs"; CAF's own errors map onto our
// codes. An actor turns how a request ended into its answer with reply()
// (and what a handler threw into a failure with capture()): no other code
// builds error answers.
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include <caf/error.hpp>
#include <caf/result.hpp>
#include <caf/unit.hpp>

#include "kvs/error.hpp"

namespace kvs {

caf::atom_value error_category();
caf::error to_caf_error(const kvs::error& e);
caf::error to_caf_error(errc code, const std::string& message);
// `what` names the request in the message when CAF itself failed it.
kvs::error from_caf_error(const caf::error& e, const std::string& what);

}  // namespace kvs

namespace kvs::detail {

// How a request ended: nullopt, or the error to answer with.
using failure = std::optional<kvs::error>;

// Runs `body`; what it throws becomes the failure: a kvs::error as it is,
// another std::exception as invalid_argument, its text after `context`;
// anything else too (an actor must never die of what a handler threw).
template <class Fn>
failure capture(Fn&& body, const std::string& context = "") {
  try {
    std::forward<Fn>(body)();
  } catch (const kvs::error& e) {
    return e;
  } catch (const std::exception& e) {
    return kvs::error(errc::invalid_argument, context + e.what());
  } catch (...) {
    return kvs::error(errc::invalid_argument, context + "an exception that is not a std::exception");
  }
  return std::nullopt;
}

// The answer to a request: the failure if there is one, else `value`...
// ...delivered through a response promise,
template <class Promise, class Value>
void reply(Promise& rp, const failure& f, Value&& value) {
  if (f)
    rp.deliver(to_caf_error(*f));
  else
    rp.deliver(std::forward<Value>(value));
}

// ...or returned by a message handler (with no value for a void reply).
template <class T>
caf::result<T> reply(const failure& f, T value) {
  if (f)
    return to_caf_error(*f);
  return value;
}

inline caf::result<void> reply(const failure& f) {
  if (f)
    return to_caf_error(*f);
  return caf::unit;
}

}  // namespace kvs::detail
