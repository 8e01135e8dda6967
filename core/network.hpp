#pragma once
// Network helpers that know nothing of the protocol: the middleman's settings
// and connecting with retries. (The message types and serve() are in store/.)
#include <chrono>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>

#include "kvs/config.hpp"
#include "kvs/error.hpp"

namespace kvs::detail {

// Where configure_middleman stores config.max_receive_bytes in the actor
// system's settings, for the deserializers (serialization/receive_limit.hpp).
constexpr char receive_limit_setting[] = "kvs.max-receive-bytes";

// Loads the middleman and sets the heartbeat, the scheduler and the receive
// cap from `cfg` (resolved). With cfg.secure, checks the certificate files (throws
// invalid_config) and loads CAF's OpenSSL module: publish and connect below
// then speak mutual TLS only.
void configure_middleman(caf::actor_system_config& sys_cfg, const config& cfg);

// Publishes `whom` on host:port (0: any free port); TLS when the system
// has the OpenSSL module (a secure node), else plain TCP.
template <class Handle>
caf::expected<uint16_t> publish(const Handle& whom, uint16_t port, const std::string& host) {
  auto& sys = whom.home_system();
  if (sys.has_openssl_manager())
    return caf::openssl::publish(whom, port, host.c_str(), true);
  return sys.middleman().publish(whom, port, host.c_str(), true);
}

// One attempt to reach the actor published at host:port, TLS when the
// system has the OpenSSL module.
template <class Handle>
caf::expected<Handle> remote_actor(caf::actor_system& sys, const std::string& host, uint16_t port) {
  if (sys.has_openssl_manager())
    return caf::openssl::remote_actor<Handle>(sys, host, port);
  return sys.middleman().remote_actor<Handle>(host, port);
}

// Connects to the actor published at host:port, retrying until `limit`
// (a peer may start later); throws timeout naming `what`.
template <class Handle>
Handle connect(caf::actor_system& sys, const std::string& host, uint16_t port,
               std::chrono::milliseconds limit, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string last;
  for (;;) {
    auto h = remote_actor<Handle>(sys, host, port);
    if (h)
      return *h;
    last = sys.render(h.error());
    if (std::chrono::steady_clock::now() >= deadline)
      throw error(errc::timeout, "cannot reach " + what + " at " + host + ":" +
                                     std::to_string(port) + " within " +
                                     std::to_string(limit.count()) + " ms: " + last);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace kvs::detail
