#pragma once
// How long each side waits for another, written once. Every timed step (a
// reducer job, a dist_sync round, an update, a request) ends by its own
// deadline, request_timeout (T), and the side that knows why names the
// cause. A side that waits for a chain of such steps must outlast the whole
// chain, plus a margin for messages and a loaded machine: if it gave up
// first, it would report a failure for work that still completes (a push
// applied that its caller was told failed), with a vaguer message. These
// limits are backstops for a peer that is alive but never answers; a dead
// peer fails every wait on it at once (peer_down).
#include <algorithm>
#include <chrono>

namespace kvs::detail::wait_bounds {

using ms = std::chrono::milliseconds;

// Slack for messages and scheduling: a tenth of T, at least one second.
inline ms margin(ms t) { return std::max(t / 10, ms(1000)); }

// A shard answers a part request once the key's turn came (work ahead of it
// ends by its deadlines, or fails queued work after T), its sum job ran
// (T), its round completed (T after the round's first push), the update ran
// (T) and the answer was copied (T).
inline ms shard_answer(ms t) { return 5 * t; }

// The worker's requests to a shard (parts, states, updater settings).
inline ms worker_to_shard(ms t) { return shard_answer(t) + margin(t); }

// One operation on a worker's route: its pre-sum (T), its requests to the
// shards, the copy of a pulled value into its outputs (T).
inline ms operation(ms t) { return t + worker_to_shard(t) + t + margin(t); }

// The store's requests to its worker that go on to every shard.
inline ms store_to_worker(ms t) { return worker_to_shard(t) + margin(t); }

// A server node's request to its shard (an updater setting, the sync mode)
// is answered at once by the shard's handler: T.
// The coordinator's requests to a server node wait for that.
inline ms coordinator_to_server(ms t) { return t + margin(t); }

// A worker's command, fanned out by the coordinator to every server.
inline ms command(ms t) { return coordinator_to_server(t) + margin(t); }

}  // namespace kvs::detail::wait_bounds
