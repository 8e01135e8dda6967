#pragma once
// The shard's side of the data plane (docs/distributed.md, "Two planes").
// A worker that shook hands sends big parts as tagged UCX messages and puts
// only their descriptors in the batch. Before a batch is served, the shard
// receives every pushed part into a fresh (pooled) array (above UCX's
// rendezvous threshold, straight from the worker's buffer); a pull's value
// is sent to the receive the worker posted on its landing array, and the
// answer, sent once UCX lets go of the value, carries no bytes. Completions come back as plane_done messages, so the shard handles
// them on its own turn. Batches are served in arrival order: one still
// reading holds back those behind it, so no request of a key passes an
// earlier one. Descriptors of workers that never shook hands are refused.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <caf/typed_response_promise.hpp>

#include "actors/key_entry.hpp"
#include "messages/shard_actor.hpp"

namespace kvs::detail {

struct shard_state;
using shard_impl = shard_actor::stateful_pointer<shard_state>;

// A batch waiting for its pushed bytes, or for the batches before it.
struct arriving_batch {
  part_batch batch;
  bool remote = false;
  caf::typed_response_promise<batch_reply> rp;
  size_t reads_left = 0;
  failure first_failure;
};

struct shard_transfers {
  std::set<std::string> peers;  // UCX addresses of the workers that shook hands
  std::deque<std::shared_ptr<arriving_batch>> arriving;
  uint64_t next_token = 0;
  // Transfers in flight, by token. One past its deadline has been failed
  // but stays here (holding its buffers) until UCX completes it.
  struct in_flight {
    std::function<void(failure)> then;
    uint64_t deadline = 0;
    bool expired = false;
  };
  std::unordered_map<uint64_t, in_flight> pending;
};

using serve_batch_fn = void (*)(shard_impl, part_batch&, bool,
                                caf::typed_response_promise<batch_reply>);

// The handshake: records the worker's address and answers with this
// shard's, when both may use UCX between them (else an empty address).
plane_hello answer_hello(shard_impl self, const plane_hello& worker);

// Serves `batch` with `serve` once its pushed bytes are here and every batch
// that arrived before it was served; at once when nothing waits.
void accept_batch(shard_impl self, part_batch& batch, bool remote,
                  caf::typed_response_promise<batch_reply> rp, serve_batch_fn serve);

// `answer` for a request whose outputs are descriptors: the value is written
// into the worker's memory first, and the answer carries no bytes.
item_done answer_by_plane(shard_impl self, const part_request& m, item_done answer);
bool answers_by_plane(const part_request& m);

// A transfer ended (plane_done): runs what waited for it.
void transfer_done(shard_impl self, uint64_t token, uint8_t code, std::string message);

}  // namespace kvs::detail
