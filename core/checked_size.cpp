#include "core/checked_size.hpp"

#include "kvs/error.hpp"

namespace kvs::detail {

uint64_t checked_element_count(const kvs::shape& s, std::string_view what) {
  uint64_t n = 1;
  bool zero = false;
  for (auto d : s) {
    if (d < 0)
      throw kvs::error(errc::invalid_argument,
                       std::string(what) + " " + to_string(s) + " has a negative dimension");
    zero = zero || d == 0;
  }
  if (zero)
    return 0;  // any product with a 0 is 0, however big the other dimensions
  for (auto d : s) {
    auto u = static_cast<uint64_t>(d);
    if (n > max_array_bytes / u)
      throw kvs::error(errc::invalid_argument,
                       std::string(what) + " " + to_string(s) + " has more elements than an array can hold (" +
                           std::to_string(max_array_bytes) + " bytes)");
    n *= u;
  }
  return n;
}

namespace {
bool bytes_fit(uint64_t elements, kvs::dtype t) {
  return elements <= max_array_bytes / static_cast<uint64_t>(size_of(t));
}
}  // namespace

uint64_t checked_byte_count(uint64_t elements, kvs::dtype t, std::string_view what) {
  if (!bytes_fit(elements, t))
    throw kvs::error(errc::invalid_argument,
                     std::string(what) + " of " + std::to_string(elements) + " " + to_string(t) +
                         " elements needs more bytes than an array can hold (" +
                         std::to_string(max_array_bytes) + ")");
  return elements * static_cast<uint64_t>(size_of(t));
}

uint64_t checked_array_bytes(const kvs::shape& s, uint64_t elements, kvs::dtype t) {
  if (!bytes_fit(elements, t))
    return checked_byte_count(elements, t, "an array of shape " + to_string(s));  // throws
  return elements * static_cast<uint64_t>(size_of(t));
}

}  // namespace kvs::detail
