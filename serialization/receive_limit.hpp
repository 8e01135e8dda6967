#pragma once
// What a message from another process may claim before anything is
// allocated for it: the bytes of each array it carries must be there in the
// message (a binary deserializer knows how many remain) and at most the
// node's receive cap (config.max_receive_bytes, KVS_MAX_RECEIVE_BYTES), which
// configure_middleman (core/network.hpp) stores in the actor system's
// settings under receive_limit_setting.
#include <cstdint>
#include <string>

#include <caf/deserializer.hpp>
#include <caf/error.hpp>

namespace kvs::detail {

// The cap when the deserializer has no actor system (fuzz targets, tests).
constexpr int64_t default_receive_limit = int64_t{1} << 30;

// corrupt_file naming `what` when the message does not hold `bytes` more
// bytes (a lie no honest peer tells: the message is dropped).
caf::error check_present(caf::deserializer& source, uint64_t bytes, const std::string& what);
// Why a claim of `bytes` (present in the message) is above the cap, or ""
// (the receiver skips them and answers the request with this error).
std::string above_cap(caf::deserializer& source, uint64_t bytes, const std::string& what);
// A claim of `bytes` (present in the message) above the cap: skips them so
// the rest of the message reads on and sets `why` (the request that carries
// them is answered with it); within the cap: `why` empty, nothing skipped.
// An error only where the source cannot skip (not a binary deserializer).
caf::error skip_above_cap(caf::deserializer& source, uint64_t bytes, const std::string& what,
                          std::string& why);
// Both: the first error, as corrupt_file or invalid_argument.
caf::error check_claim(caf::deserializer& source, uint64_t bytes, const std::string& what);
// One line on stderr at a node (not where there is no actor system: fuzz
// targets) for a message it drops: CAF drops a message it cannot read
// without a word, so the node says what was wrong with it.
caf::error refused(caf::deserializer& source, caf::error err);

}  // namespace kvs::detail
