#pragma once
// What every fuzz target shares: reading values from bytes as a node reads
// a message from another process (a binary deserializer with no actor
// system: nothing is logged, the default receive cap applies), and writing
// back what was read (the send path must cope with whatever was accepted).
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/execution_unit.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace kvs::fuzz {

template <class... Ts>
void decode(const uint8_t* data, size_t size) {
  caf::execution_unit* no_system = nullptr;
  caf::binary_deserializer source{no_system, reinterpret_cast<const char*>(data), size};
  std::tuple<Ts...> values;
  bool read = std::apply([&](Ts&... xs) { return !source(xs...); }, values);
  if (!read)
    return;
  std::vector<char> buf;
  caf::binary_serializer sink{no_system, buf};
  std::apply([&](Ts&... xs) { static_cast<void>(sink(xs...)); }, values);
}

}  // namespace kvs::fuzz
