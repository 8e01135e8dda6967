#include "store/shm_handshake.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>

#include <unistd.h>

#include "core/log.hpp"
#include "core/shm_arena.hpp"
#include "store/blocking_request.hpp"

namespace kvs::detail {

namespace {

void log_plane(const std::string& who, const std::string& server, const std::string& plane) {
  log::info("kvs " + who + ": " + server + ": " + plane);
}

// The host part of a CAF node id (a hash of the host's identity), nullopt
// for ids of another kind. CAF adds a count to its last bytes for each more
// actor system of one process: those are left out. This only spares other
// hosts the offer; the challenge (actors/shard_shm.cpp) is the check.
using host_hash = std::array<uint8_t, 16>;
std::optional<host_hash> host_of(const caf::node_id& n) {
  if (!n || n->implementation_id() != caf::node_id::default_data::class_id)
    return std::nullopt;
  auto id = static_cast<const caf::node_id::default_data&>(*n).host_id();
  static_assert(std::tuple_size<decltype(id)>::value >= std::tuple_size<host_hash>::value);
  host_hash out;
  std::copy_n(id.begin(), out.size(), out.begin());
  return out;
}

// The id descriptors name a segment by: random, so one worker cannot guess
// another's.
uint32_t segment_id(const shm_segment& seg) { return static_cast<uint32_t>(seg.nonce().lo); }

// The arena, turned on unless config.shm_arena_bytes is 0 (null: off, or
// its id would be the worker segment's).
std::shared_ptr<shm_segment> arena_of(const config& cfg, const std::string& who,
                                      uint32_t worker_segment) {
  auto arena = shm_arena::instance().enable(cfg, "kvs " + who);
  return arena && segment_id(*arena) == worker_segment ? nullptr : arena;
}

// Announces a segment to one shard, then echoes the challenge the shard
// wrote into it: reading it is what proves this worker owns the segment (a
// replayed offer cannot). Throws the shard's refusal.
void offer_segment(caf::actor_system& sys, const config& cfg, const shard_actor& shard,
                   const std::string& name, const shm_segment& seg, uint32_t id,
                   const caf::actor& owner) {
  shm_announce a{owner, id, static_cast<int64_t>(getpid()), seg.fd(), seg.size(),
                 seg.nonce().hi, seg.nonce().lo};
  watched_request<ok_atom>(sys, shard, cfg.request_timeout, "shared memory offer", name,
                           shm_atom::value, a);
  auto c = seg.challenge();
  watched_request<ok_atom>(sys, shard, cfg.request_timeout, "shared memory echo", name,
                           shm_atom::value, shm_echo{id, c.hi, c.lo});
}

}  // namespace

shm_offer offer_shared_memory(caf::actor_system& sys, const config& cfg,
                              const std::vector<shard_actor>& shards,
                              const std::vector<std::string>& names, const caf::actor& owner,
                              const std::string& who) {
  shm_offer out;
  out.shards.assign(shards.size(), false);
  bool strict = cfg.transport == "shm";
  if (cfg.transport == "caf") {
    for (auto& n : names)
      log_plane(who, n, "tensor bytes in CAF's messages (KVS_TRANSPORT=caf)");
    return out;
  }
  std::shared_ptr<shm_segment> seg;
  try {
    seg = std::make_shared<shm_segment>(static_cast<uint64_t>(cfg.shm_bytes));
  } catch (const kvs::error& e) {
    if (strict)
      throw kvs::error(errc::invalid_config,
                       "KVS_TRANSPORT=shm, but this worker cannot make its segment: " +
                           std::string(e.what()));
    for (auto& n : names)
      log_plane(who, n, std::string("tensor bytes in CAF's messages (no segment: ") + e.what() + ")");
    return out;
  }
  out.id = segment_id(*seg);
  std::shared_ptr<shm_segment> arena;  // turned on once a shard shares memory
  bool arena_tried = false;
  out.arena_shards.assign(shards.size(), false);
  bool any = false;
  auto here = host_of(sys.node());
  for (size_t i = 0; i < shards.size(); ++i) {
    try {
      // Not even the nonce goes to a server whose node id names another host.
      if (!here || host_of(shards[i]->node()) != here)
        throw kvs::error(errc::unsupported, "its node id names another host");
      offer_segment(sys, cfg, shards[i], names[i], *seg, out.id, owner);
      out.shards[i] = true;
      any = true;
      log_plane(who, names[i],
                "parts of " + std::to_string(cfg.shm_min_bytes) +
                    " bytes and more through shared memory (the server mapped this worker's "
                    "segment and this worker echoed the challenge it wrote there: same host)");
    } catch (const kvs::error& e) {
      if (e.code() == errc::peer_down || e.code() == errc::timeout || strict)
        throw kvs::error(strict && e.code() != errc::peer_down ? errc::invalid_config : e.code(),
                         (strict ? "KVS_TRANSPORT=shm, but " : "") + names[i] +
                             " did not take this worker's shared memory: " + e.what());
      log_plane(who, names[i], std::string("tensor bytes in CAF's messages (") + e.what() + ")");
      continue;
    }
    if (!arena_tried) {
      arena = arena_of(cfg, who, out.id);
      arena_tried = true;
    }
    if (!arena)
      continue;
    try {
      // One header for every store of the process: one challenge at a time.
      std::lock_guard<std::mutex> lock{shm_arena::instance().offer_lock()};
      offer_segment(sys, cfg, shards[i], names[i], *arena, segment_id(*arena), owner);
      out.arena_shards[i] = true;
      log_plane(who, names[i], "arrays in this process's shared memory arena are read and "
                               "written in place (no copy)");
    } catch (const kvs::error& e) {
      if (e.code() == errc::peer_down || e.code() == errc::timeout)
        throw;
      log_plane(who, names[i], std::string("arrays in the arena are copied through the worker's "
                                           "segment (") + e.what() + ")");
    }
  }
  if (any)
    out.segment = std::move(seg);
  if (any && arena) {
    out.arena = std::move(arena);
    out.arena_id = segment_id(*out.arena);
  }
  return out;
}

}  // namespace kvs::detail
