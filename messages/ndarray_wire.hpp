#pragma once
// How an ndarray crosses the network, declared with the messages that carry
// it; defined in serialization/ndarray_inspect.cpp. Dense bytes go in one
// apply_raw block (never element by element); a receiver gets fresh storage.
#include <string>
#include <type_traits>

#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>

#include "kvs/ndarray.hpp"

namespace kvs {

caf::error save_ndarray(caf::serializer& sink, const ndarray& x);
caf::error load_ndarray(caf::deserializer& source, ndarray& x);
// "f32(2,3)@cpu(0)" or "none": what logs and to_string show.
std::string describe(const ndarray& x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ndarray& x) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    return save_ndarray(f, x);
  } else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value) {
    return load_ndarray(f, x);
  } else {
    auto text = describe(x);
    return f(caf::meta::type_name("ndarray"), text);
  }
}

}  // namespace kvs
