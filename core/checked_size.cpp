#include "core/checked_size.hpp"

#include "kvs/error.hpp"

namespace kvs::detail {

uint64_t checked_element_count(const kvs::shape& s, const std::string& what) {
  uint64_t n = 1;
  bool zero = false;
  for (auto d : s) {
    if (d < 0)
      throw kvs::error(errc::invalid_argument,
                       what + " " + to_string(s) + " has a negative dimension");
    zero = zero || d == 0;
  }
  if (zero)
    return 0;  // any product with a 0 is 0, however big the other dimensions
  for (auto d : s) {
    auto u = static_cast<uint64_t>(d);
    if (n > max_array_bytes / u)
      throw kvs::error(errc::invalid_argument,
                       what + " " + to_string(s) + " has more elements than an array can hold (" +
                           std::to_string(max_array_bytes) + " bytes)");
    n *= u;
  }
  return n;
}

uint64_t checked_byte_count(uint64_t elements, kvs::dtype t, const std::string& what) {
  auto width = static_cast<uint64_t>(size_of(t));
  if (elements > max_array_bytes / width)
    throw kvs::error(errc::invalid_argument,
                     what + " of " + std::to_string(elements) + " " + to_string(t) +
                         " elements needs more bytes than an array can hold (" +
                         std::to_string(max_array_bytes) + ")");
  return elements * width;
}

}  // namespace kvs::detail
