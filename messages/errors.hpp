#pragma once
// kvs::error <-> caf::error: errors travel back to the requester as
// caf::error in category "kvs"; CAF's own errors map onto our codes.
#include <caf/error.hpp>

#include "kvs/error.hpp"

namespace kvs {

caf::atom_value error_category();
caf::error to_caf_error(const kvs::error& e);
caf::error to_caf_error(errc code, const std::string& message);
// `what` names the request in the message when CAF itself failed it.
kvs::error from_caf_error(const caf::error& e, const std::string& what);

}  // namespace kvs
