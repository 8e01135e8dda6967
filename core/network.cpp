#include "core/network.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "core/tls_files.hpp"

namespace kvs::detail {

void configure_middleman(caf::actor_system_config& sc, const config& cfg) {
  sc.load<caf::io::middleman>();
  sc.set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
  sc.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  sc.set("logger.verbosity", caf::atom("quiet"));
  sc.set("middleman.heartbeat-interval", caf::timespan{cfg.heartbeat_interval});
  sc.set("middleman.connection-timeout", caf::timespan{cfg.heartbeat_timeout});
  sc.set("middleman.workers", size_t{0});
  // Every connection is one the node opened itself through publish or
  // connect below; BASP must not open others (they would bypass TLS).
  sc.set("middleman.enable-automatic-connections", false);
  if (cfg.secure == 1) {
    check_tls_files(cfg);
    keep_tls_error_queue_fix();
    sc.load<caf::openssl::manager>();
    // CAF then requires a peer certificate signed by the authority, both
    // ways (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT).
    sc.openssl_certificate = cfg.tls_cert;
    sc.openssl_key = cfg.tls_key;
    sc.openssl_cafile = cfg.tls_ca;
  }
  // Not a CAF option (set() would refuse the name): read by the deserializers.
  caf::put(sc.content, receive_limit_setting, cfg.max_receive_bytes);
}

}  // namespace kvs::detail
