#pragma once
// The data plane: tensor bytes moved by UCX (shared memory / CMA on one
// host, TCP or verbs between hosts) while actors and their messages stay the
// control plane (docs/distributed.md, "Two planes"). One UCX context and
// worker per process, like the buffer pool: every store and server of the
// process shares it, and it stops when the last one lets go. A progress
// thread drives UCX and runs completion callbacks; callers turn those into
// messages to the actor that owns the operation.
//
// Bytes move as tagged messages, and UCX picks the protocol: above its
// rendezvous threshold the receiver reads straight from the sender's buffer
// (CMA on one host: one process_vm_readv, no socket, no staging copy). A
// receiver posts a receive only for a tag announced in an actor's message,
// and endpoints are created only from addresses that arrived that way.
// Endpoints run with peer error handling: a lost peer fails what is pending
// with it (peer_down), never a hang.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "kvs/error.hpp"

namespace kvs::detail {

class ucx_plane {
public:
  // Completion of a transfer: nullopt, or the error (peer_down when the
  // peer is gone). Runs on the plane's progress thread: keep it short.
  using done_fn = std::function<void(std::optional<kvs::error>)>;

  // The process's plane, started on first use; nullptr with `why` set when
  // UCX cannot start (no library, no usable transport).
  static std::shared_ptr<ucx_plane> shared(std::string& why);

  virtual ~ucx_plane() = default;
  // This process's UCX worker address: peers create endpoints from it.
  virtual const std::string& address() const = 0;
  // The host this process runs on (hostname and boot id): peers on the
  // same host use shared memory, others need the network opt-in.
  virtual const std::string& host() const = 0;
  // The UCX transports this process may use, for the log line.
  virtual std::string transports() const = 0;

  // A tag no other transfer of this process uses; `rank` (the worker's)
  // keeps the tags of different worker processes to one server apart.
  virtual uint64_t new_tag(int32_t rank) = 0;
  // Creates the endpoint to `peer` now (at the handshake), so that losing
  // the peer fails the receives expected from it.
  virtual void connect(const std::string& peer) = 0;
  // Sends [p, p + bytes) to `peer` under `tag`; `done` once UCX lets go of
  // the buffer (keep it unchanged until then).
  virtual void send(const std::string& peer, uint64_t tag, const void* p, uint64_t bytes,
                    done_fn done) = 0;
  // Receives what `from` sends under `tag` into [p, p + bytes); `done` once
  // the bytes are there, or with peer_down once `from` is lost.
  virtual void recv(const std::string& from, uint64_t tag, void* p, uint64_t bytes,
                    done_fn done) = 0;
};

}  // namespace kvs::detail
