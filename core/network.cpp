#include "core/network.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace kvs::detail {

void configure_middleman(caf::actor_system_config& sc, const config& cfg) {
  sc.load<caf::io::middleman>();
  sc.set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
  sc.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  sc.set("logger.verbosity", caf::atom("quiet"));
  sc.set("middleman.heartbeat-interval", caf::timespan{cfg.heartbeat_interval});
  sc.set("middleman.connection-timeout", caf::timespan{cfg.heartbeat_timeout});
  sc.set("middleman.workers", size_t{0});
  // Not a CAF option (set() would refuse the name): read by the deserializers.
  caf::put(sc.content, receive_limit_setting, cfg.max_receive_bytes);
}

}  // namespace kvs::detail
