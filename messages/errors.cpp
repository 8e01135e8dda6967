#include "messages/errors.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace kvs {

caf::atom_value error_category() { return caf::atom("kvs"); }

caf::error to_caf_error(errc code, const std::string& message) {
  return caf::error(static_cast<uint8_t>(code), error_category(), caf::make_message(message));
}

caf::error to_caf_error(const kvs::error& e) { return to_caf_error(e.code(), e.what()); }

kvs::error from_caf_error(const caf::error& e, const std::string& what) {
  if (e.category() == error_category()) {
    std::string text;
    if (e.context().match_elements<std::string>())
      text = e.context().get_as<std::string>(0);
    return kvs::error(static_cast<errc>(e.code()), text);
  }
  if (e.category() == caf::atom("system")) {
    auto code = static_cast<caf::sec>(e.code());
    switch (code) {
      case caf::sec::request_timeout:
        return kvs::error(errc::timeout, what + ": no answer within the request timeout");
      case caf::sec::request_receiver_down:
      case caf::sec::remote_linking_failed:
        return kvs::error(errc::peer_down, what + ": the actor that should answer is gone");
      case caf::sec::unexpected_message:
        return kvs::error(errc::invalid_argument, what + ": the receiver did not understand the request");
      default:
        break;
    }
    return kvs::error(errc::peer_down, what + ": " + caf::to_string(code));
  }
  return kvs::error(errc::invalid_argument, what + ": error " + std::to_string(e.code()) +
                                                " in category " + caf::to_string(e.category()));
}

}  // namespace kvs
