#include "store/data_plane.hpp"

#include <iostream>

#include "store/blocking_request.hpp"

namespace kvs::detail {

std::shared_ptr<ucx_plane> start_data_plane(const config& cfg, const std::string& who) {
  if (cfg.transport == "caf")
    return nullptr;
  std::string why;
  auto plane = ucx_plane::shared(why);
  if (plane)
    return plane;
  if (cfg.transport == "ucx")
    throw error(errc::invalid_config, "KVS_TRANSPORT=ucx, but UCX cannot start: " + why);
  std::cerr << ("kvs " + who + ": KVS_TRANSPORT=auto: UCX did not start (" + why +
                "); tensor bytes go in CAF's messages\n")
            << std::flush;
  return nullptr;
}

std::vector<std::string> shake_hands(caf::actor_system& sys, ucx_plane& plane, const config& cfg,
                              const std::vector<shard_actor>& shards,
                              const std::vector<std::string>& names, const std::string& who) {
  plane_hello mine{plane.host(), plane.address(), cfg.ucx_network == 1};
  std::vector<std::string> on(shards.size());
  std::string ucx, in_band;
  for (size_t i = 0; i < shards.size(); ++i) {
    auto theirs = watched_request<plane_hello>(sys, shards[i], cfg.request_timeout,
                                               "data plane handshake", names[i], plane_atom::value,
                                               mine);
    on[i] = theirs.address;
    if (!on[i].empty())
      plane.connect(on[i]);
    auto& list = on[i].empty() ? in_band : ucx;
    list += (list.empty() ? "" : ", ") + std::to_string(i);
    if (on[i].empty())
      in_band += theirs.host.empty() ? " (no UCX there)"
                 : theirs.host != plane.host()
                     ? " (another host; KVS_UCX_NETWORK=1 on both sides allows UCX)"
                     : "";
  }
  std::string line = "kvs " + who + ": data plane: ";
  if (!ucx.empty())
    line += "parts of " + std::to_string(cfg.ucx_min_bytes) + " bytes and more over " +
            plane.transports() + " to servers " + ucx;
  if (!in_band.empty())
    line += std::string(ucx.empty() ? "" : "; ") + "in CAF's messages to servers " + in_band;
  std::cerr << (line + "\n") << std::flush;
  return on;
}

}  // namespace kvs::detail
