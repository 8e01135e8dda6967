// The update request's inspection (declared in the public kvs/updater_actor.hpp
// without the wire format of ndarray, which stays private).
#include <caf/deserializer.hpp>
#include <caf/serializer.hpp>

#include "kvs/updater_actor.hpp"
#include "messages/ndarray_wire.hpp"

namespace kvs {

caf::error inspect(caf::serializer& sink, update_request& x) {
  return sink(x.key, x.grad, x.weight, x.state, x.count, x.sparse, x.rows);
}

caf::error inspect(caf::deserializer& source, update_request& x) {
  return source(x.key, x.grad, x.weight, x.state, x.count, x.sparse, x.rows);
}

std::string to_string(const update_request& x) {
  return "update_request(" + x.key.to_string() + ", grad " + describe(x.grad) + ", weight " +
         describe(x.weight) + ", " + std::to_string(x.state.size()) + " state arrays, count " +
         std::to_string(x.count) + (x.sparse ? ", " + std::to_string(x.rows.size()) + " rows)" : ")");
}

}  // namespace kvs
