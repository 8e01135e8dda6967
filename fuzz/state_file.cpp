// Fuzz target: an optimizer-state file (serialization/state_file.hpp). The
// first byte picks what the rest is: a whole file (magic, version, size,
// checksum, payload), or a payload alone (past the checksum, which random
// bytes rarely match). Only kvs::error corrupt_file may come out.
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_target.hpp"
#include "serialization/state_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 0)
      kvs::detail::parse_state_file(bytes, "fuzz input");
    else
      kvs::detail::parse_state_payload(bytes, "fuzz input");
  } catch (const kvs::error& e) {
    if (e.code() != kvs::errc::corrupt_file)
      std::abort();
  }
  return 0;
}
