// Fuzz target: the DMLC_* / KVS_* / MXNET_* / PS_* variables, read once into
// a config (core/config.cpp). The input is lines; a line's first byte picks
// the variable, the rest is its value. Only kvs::error invalid_config may
// come out of config::resolved_cluster.
#include <cstdlib>
#include <iterator>
#include <string>

#include "fuzz/fuzz_target.hpp"
#include "kvs/config.hpp"
#include "kvs/error.hpp"

namespace {
const char* const variables[] = {
    "DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_WORKER", "DMLC_NUM_SERVER",
    "DMLC_NODE_HOST", "DMLC_INTERFACE", "PS_HEARTBEAT_INTERVAL", "PS_HEARTBEAT_TIMEOUT",
    "MXNET_KVSTORE_BIGARRAY_BOUND", "MXNET_KVSTORE_REDUCTION_NTHREADS", "KVS_REQUEST_TIMEOUT",
    "KVS_SCHEDULER_THREADS", "KVS_LOCAL_SHARDS", "KVS_MAX_INFLIGHT", "KVS_INLINE_BOUND",
    "KVS_MAX_MESSAGE_BYTES", "KVS_MAX_RECEIVE_BYTES", "KVS_MAX_INFLIGHT_BYTES",
    "KVS_STARTUP_TIMEOUT", "KVS_BARRIER_TIMEOUT", "KVS_STALL_WARNING"};
constexpr size_t count = std::size(variables);
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (auto* v : variables)
    unsetenv(v);
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos)
      end = text.size();
    if (end > at) {
      std::string value = text.substr(at + 1, end - at - 1);
      value.erase(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
      setenv(variables[static_cast<unsigned char>(text[at]) % count], value.c_str(), 1);
    }
    at = end + 1;
  }
  try {
    kvs::config c;
    c.resolved_cluster();
  } catch (const kvs::error& e) {
    if (e.code() != kvs::errc::invalid_config)
      std::abort();
  }
  return 0;
}
