#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <thread>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "kvs/config.hpp"
#include "kvs/error.hpp"

namespace kvs {

namespace {

const char* env(const config& cfg, const char* name) {
  if (!cfg.read_environment)
    return nullptr;
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// Strict: the whole value must be a number within [lo, hi].
int64_t parse_int(const char* name, const char* text, int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
    throw error(errc::invalid_config, std::string(name) + "='" + text +
                                          "' is not a whole number in [" + std::to_string(lo) +
                                          ", " + std::to_string(hi) + "]");
  return v;
}

template <class T>
void fill(T& field, T unset, const config& cfg, const char* var, T fallback, int64_t lo,
          int64_t hi) {
  if (field != unset)
    return;
  if (auto text = env(cfg, var))
    field = static_cast<T>(parse_int(var, text, lo, hi));
  else
    field = fallback;
}

void check_positive(const char* field, int64_t value, int64_t lo) {
  if (value < lo)
    throw error(errc::invalid_config, std::string("config.") + field + " = " +
                                          std::to_string(value) + " is below " + std::to_string(lo));
}

void fill_text(std::string& field, const config& cfg, const char* var) {
  if (!field.empty())
    return;
  if (auto text = env(cfg, var))
    field = text;
}

// The IPv4 address of a network interface, e.g. "lo" -> "127.0.0.1".
std::string interface_address(const std::string& name) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    throw error(errc::invalid_config, "DMLC_INTERFACE='" + name + "': cannot list interfaces");
  std::string found;
  std::string names;
  for (auto* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET)
      continue;
    names += (names.empty() ? "" : ", ") + std::string(i->ifa_name);
    if (name == i->ifa_name && found.empty()) {
      char buf[INET_ADDRSTRLEN];
      auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)) != nullptr)
        found = buf;
    }
  }
  freeifaddrs(list);
  if (found.empty())
    throw error(errc::invalid_config, "DMLC_INTERFACE='" + name +
                                          "' has no IPv4 address; interfaces with one: " + names);
  return found;
}

std::chrono::milliseconds seconds_var(const config& cfg, const char* var, int64_t fallback_ms) {
  if (auto text = env(cfg, var))
    return std::chrono::milliseconds(parse_int(var, text, 1, 86400) * 1000);
  return std::chrono::milliseconds(fallback_ms);
}

// A duration field left at 0: the variable (in `unit` milliseconds), else
// `fallback`. A negative field is refused by name.
void fill_duration(std::chrono::milliseconds& field, const char* name, const config& cfg,
                   const char* var, int64_t unit, std::chrono::milliseconds fallback) {
  check_positive(name, field.count(), 0);
  if (field.count() != 0)
    return;
  if (auto text = env(cfg, var))
    field = std::chrono::milliseconds(parse_int(var, text, 1, INT64_C(86400000) / unit) * unit);
  else
    field = fallback;
}

// The bounded waits: start-up, barriers, stall warnings.
void resolve_waits(config& out) {
  fill_duration(out.startup_timeout, "startup_timeout", out, "KVS_STARTUP_TIMEOUT", 1,
                out.request_timeout);
  fill_duration(out.barrier_timeout, "barrier_timeout", out, "KVS_BARRIER_TIMEOUT", 1,
                10 * out.request_timeout);
  fill_duration(out.stall_warning, "stall_warning", out, "KVS_STALL_WARNING", 1000,
                std::chrono::milliseconds(60000));
}

// The data plane: KVS_TRANSPORT, KVS_SHM_MIN_BYTES, KVS_SHM_BYTES, KVS_SHM_ARENA_BYTES.
void resolve_transport(config& out) {
  fill_text(out.transport, out, "KVS_TRANSPORT");
  if (out.transport.empty())
    out.transport = "auto";
  if (out.transport == "ucx")
    throw error(errc::invalid_config,
                "KVS_TRANSPORT (config.transport) = 'ucx': the UCX data plane is not shipped; "
                "use auto, shm or caf (docs/distributed.md, \"Two planes\")");
  if (out.transport != "auto" && out.transport != "shm" && out.transport != "caf")
    throw error(errc::invalid_config, "KVS_TRANSPORT (config.transport) = '" + out.transport +
                                          "' is not one of auto, shm, caf");
  fill(out.shm_min_bytes, int64_t{0}, out, "KVS_SHM_MIN_BYTES", int64_t{4} << 10, 1,
       int64_t{1} << 40);
  fill(out.shm_bytes, int64_t{0}, out, "KVS_SHM_BYTES", int64_t{256} << 20, int64_t{1} << 20,
       int64_t{1} << 40);
  check_positive("shm_min_bytes", out.shm_min_bytes, 1);
  check_positive("shm_bytes", out.shm_bytes, int64_t{1} << 20);
  fill(out.shm_arena_bytes, int64_t{-1}, out, "KVS_SHM_ARENA_BYTES", int64_t{4} << 30, 0,
       int64_t{1} << 40);
  if (out.shm_arena_bytes != 0)
    check_positive("shm_arena_bytes", out.shm_arena_bytes, int64_t{1} << 20);
}

// A host name or address as the network takes it: 1 to 255 printable
// characters, no spaces (what a peer is told to connect to).
void check_host(const char* var, const char* field, const std::string& host) {
  if (host.empty())
    return;
  bool printable = host.size() <= 255;
  for (unsigned char c : host)
    printable = printable && c > ' ' && c < 127;
  if (!printable)
    throw error(errc::invalid_config, std::string(var) + " (config." + field + ") '" +
                                          host.substr(0, 64) + "' is not a host name or address " +
                                          "(1 to 255 printable characters without spaces)");
}

bool is_loopback(const std::string& host) {
  return host.empty() || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// KVS_SECURE, else on when the node binds or reaches beyond loopback; the
// certificate files are checked when the node starts its network.
void resolve_security(config& out) {
  if (out.secure < -1 || out.secure > 1)
    throw error(errc::invalid_config, "config.secure = " + std::to_string(out.secure) +
                                          " must be 1 (on), 0 (off) or -1 (KVS_SECURE, else "
                                          "on beyond loopback)");
  bool beyond_loopback = !is_loopback(out.node_host) || !is_loopback(out.root_uri);
  fill(out.secure, -1, out, "KVS_SECURE", beyond_loopback ? 1 : 0, 0, 1);
  fill_text(out.tls_cert, out, "KVS_TLS_CERT");
  fill_text(out.tls_key, out, "KVS_TLS_KEY");
  fill_text(out.tls_ca, out, "KVS_TLS_CA");
}

[[noreturn]] void missing(const char* var, const char* field, const std::string& why) {
  throw error(errc::invalid_config, std::string(var) + " (config." + field + ") " + why);
}

}  // namespace

config config::resolved() const {
  config out = *this;
  if (out.request_timeout == std::chrono::milliseconds(30000)) {
    if (auto text = env(out, "KVS_REQUEST_TIMEOUT"))
      out.request_timeout =
          std::chrono::milliseconds(parse_int("KVS_REQUEST_TIMEOUT", text, 1, INT64_C(86400000)));
  }
  check_positive("request_timeout", out.request_timeout.count(), 1);
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  fill(out.scheduler_threads, 0, out, "KVS_SCHEDULER_THREADS", cores, 1, 1024);
  fill(out.bigarray_bound, int64_t{0}, out, "MXNET_KVSTORE_BIGARRAY_BOUND", int64_t{1000000}, 1,
       INT64_MAX);
  fill(out.reduction_threads, 0, out, "MXNET_KVSTORE_REDUCTION_NTHREADS", 4, 1, 256);
  fill(out.local_shards, 0, out, "KVS_LOCAL_SHARDS", 4, 1, 1024);
  fill(out.max_inflight, 0, out, "KVS_MAX_INFLIGHT", 1024, 1, 1 << 20);
  fill(out.inline_bound, int64_t{-1}, out, "KVS_INLINE_BOUND", int64_t{16384}, 0, INT64_MAX);
  fill(out.max_message_bytes, int64_t{0}, out, "KVS_MAX_MESSAGE_BYTES", int64_t{16} << 20,
       int64_t{1} << 10, int64_t{1} << 31);
  fill(out.max_receive_bytes, int64_t{0}, out, "KVS_MAX_RECEIVE_BYTES",
       std::max(int64_t{1} << 30, out.max_message_bytes), int64_t{1} << 10, int64_t{1} << 40);
  if (out.max_receive_bytes < out.max_message_bytes)
    throw error(errc::invalid_config,
                "config.max_receive_bytes (KVS_MAX_RECEIVE_BYTES) = " +
                    std::to_string(out.max_receive_bytes) + " is below max_message_bytes = " +
                    std::to_string(out.max_message_bytes) + ": a node could not receive what " +
                    "its peers send");
  fill(out.max_inflight_bytes, int64_t{0}, out, "KVS_MAX_INFLIGHT_BYTES", int64_t{128} << 20, 1,
       INT64_MAX);
  fill_text(out.role, out, "DMLC_ROLE");
  fill_text(out.root_uri, out, "DMLC_PS_ROOT_URI");
  fill(out.root_port, 0, out, "DMLC_PS_ROOT_PORT", 0, 1, 65535);
  fill(out.num_workers, 0, out, "DMLC_NUM_WORKER", 0, 1, 1 << 16);
  fill(out.num_servers, 0, out, "DMLC_NUM_SERVER", 0, 1, 1 << 16);
  fill_text(out.interface, out, "DMLC_INTERFACE");
  fill_text(out.node_host, out, "DMLC_NODE_HOST");
  check_host("DMLC_PS_ROOT_URI", "root_uri", out.root_uri);
  check_host("DMLC_NODE_HOST", "node_host", out.node_host);
  if (out.node_host.empty())
    out.node_host = out.interface.empty() ? "127.0.0.1" : interface_address(out.interface);
  resolve_security(out);
  if (out.heartbeat_interval.count() == 0)
    out.heartbeat_interval = seconds_var(out, "PS_HEARTBEAT_INTERVAL", 1000);
  if (out.heartbeat_timeout.count() == 0)
    out.heartbeat_timeout = seconds_var(out, "PS_HEARTBEAT_TIMEOUT", 30000);
  resolve_waits(out);
  resolve_transport(out);
  fill_text(out.log_level, out, "KVS_LOG");
  fill_text(out.timeline, out, "KVS_TIMELINE");
  if (!out.log_level.empty() && out.log_level != "debug" && out.log_level != "info" &&
      out.log_level != "warn")
    throw error(errc::invalid_config,
                "KVS_LOG (config.log_level) is \"" + out.log_level + "\"; expected debug, info or warn");
  check_positive("scheduler_threads", out.scheduler_threads, 1);
  check_positive("bigarray_bound", out.bigarray_bound, 1);
  check_positive("reduction_threads", out.reduction_threads, 1);
  check_positive("local_shards", out.local_shards, 1);
  check_positive("max_inflight", out.max_inflight, 1);
  check_positive("inline_bound", out.inline_bound, 0);
  return out;
}

}  // namespace kvs

namespace kvs {

config config::resolved_cluster() const {
  auto out = resolved();
  if (out.role.empty())
    missing("DMLC_ROLE", "role", "is not set; it must be worker, server or scheduler");
  if (out.role != "worker" && out.role != "server" && out.role != "scheduler")
    missing("DMLC_ROLE", "role", "is '" + out.role + "'; it must be worker, server or scheduler");
  if (out.root_uri.empty())
    missing("DMLC_PS_ROOT_URI", "root_uri", "is not set: the scheduler's address");
  if (out.root_port < 1 || out.root_port > 65535)
    missing("DMLC_PS_ROOT_PORT", "root_port", "is not set: the scheduler's port (1-65535)");
  if (out.num_workers < 1)
    missing("DMLC_NUM_WORKER", "num_workers", "is not set: the number of workers (>= 1)");
  if (out.num_servers < 1)
    missing("DMLC_NUM_SERVER", "num_servers", "is not set: the number of servers (>= 1)");
  if (out.secure == 1) {
    const std::string why =
        "is not set, but the cluster is secure (KVS_SECURE=1, the default when a node binds or "
        "reaches an address other than loopback; here " + out.node_host + " and " +
        out.root_uri + "): kvs-launch sets it, or name your own files (docs/security.md), or "
        "set KVS_SECURE=0 on a trusted network";
    if (out.tls_cert.empty())
      missing("KVS_TLS_CERT", "tls_cert", "(this node's certificate) " + why);
    if (out.tls_key.empty())
      missing("KVS_TLS_KEY", "tls_key", "(this node's private key) " + why);
    if (out.tls_ca.empty())
      missing("KVS_TLS_CA", "tls_ca", "(the job's authority) " + why);
  }
  return out;
}

}  // namespace kvs
