// Fuzz target: an optimizer configuration archive, as a server reads it
// from the set-optimizer command (optimizer::deserialize). Only kvs::error
// corrupt_file may come out; what is accepted must serialize back.
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_target.hpp"
#include "kvs/error.hpp"
#include "kvs/optimizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto opt = kvs::optimizer::deserialize(bytes);
    if (kvs::optimizer::deserialize(opt->serialize())->name() != opt->name())
      std::abort();
  } catch (const kvs::error& e) {
    if (e.code() != kvs::errc::corrupt_file)
      std::abort();
  }
  return 0;
}
