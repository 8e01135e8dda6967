#include "serialization/receive_limit.hpp"

#include <cstdio>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/execution_unit.hpp>

#include "core/network.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

namespace {

int64_t receive_limit(caf::deserializer& source) {
  auto* ctx = source.context();
  if (ctx == nullptr)
    return default_receive_limit;
  return caf::get_or(ctx->system().config(), receive_limit_setting, default_receive_limit);
}

}  // namespace

caf::error check_present(caf::deserializer& source, uint64_t bytes, const std::string& what) {
  if (auto* binary = dynamic_cast<caf::binary_deserializer*>(&source))
    if (bytes > binary->remaining())
      return to_caf_error(errc::corrupt_file,
                          what + " claims " + std::to_string(bytes) + " bytes but the message " +
                              "holds only " + std::to_string(binary->remaining()) + " more");
  return {};
}

std::string above_cap(caf::deserializer& source, uint64_t bytes, const std::string& what) {
  auto limit = receive_limit(source);
  if (bytes <= static_cast<uint64_t>(limit))
    return {};
  return what + " of " + std::to_string(bytes) + " bytes is above the receiving node's cap of " +
         std::to_string(limit) + " bytes (KVS_MAX_RECEIVE_BYTES, config.max_receive_bytes)";
}

caf::error skip_above_cap(caf::deserializer& source, uint64_t bytes, const std::string& what,
                          std::string& why) {
  why = above_cap(source, bytes, what);
  if (why.empty())
    return {};
  auto* binary = dynamic_cast<caf::binary_deserializer*>(&source);
  if (binary == nullptr)
    return to_caf_error(errc::invalid_argument, why);
  binary->skip(bytes);  // the caller's check_present saw them there
  return {};
}

caf::error check_claim(caf::deserializer& source, uint64_t bytes, const std::string& what) {
  if (auto err = check_present(source, bytes, what))
    return err;
  auto why = above_cap(source, bytes, what);
  return why.empty() ? caf::error{} : to_caf_error(errc::invalid_argument, why);
}

caf::error refused(caf::deserializer& source, caf::error err) {
  if (err && source.context() != nullptr) {
    auto line = "kvs: dropped a message from another process: " +
                std::string(from_caf_error(err, "a message").what()) + " (it serves on)\n";
    std::fputs(line.c_str(), stderr);
  }
  return err;
}

}  // namespace kvs::detail
