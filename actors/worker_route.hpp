#pragma once
// The worker's state and a key's route through it. A route is data: the
// ordered list of stages every operation of a key passes (today: pre-sum of
// a push's per-device arrays, rows of row_sparse pushes and pulls,
// compression, send to the shards, conversion into outputs of another dtype,
// finish). An operation enters a stage only once every earlier
// operation of its key has entered it, so no later operation of a key passes
// an earlier one at any stage; operations of one key may still overlap
// (a pull is sent right behind a push, both wait for the round together).
// New stages (a byte transport, row selection) are new rows of the route,
// not special cases, as compression is.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "actors/deadlines.hpp"
#include "actors/part_planner.hpp"
#include "actors/reducer_set.hpp"
#include "actors/worker.hpp"
#include "actors/worker_shm.hpp"
#include "core/array_hazards.hpp"
#include "core/compression.hpp"
#include "core/dispatch_queue.hpp"
#include "core/sharding.hpp"
#include "core/shm_ranges.hpp"
#include "messages/shard_actor.hpp"
#include "messages/worker_actor.hpp"

namespace kvs::detail {

using op_ptr = std::shared_ptr<operation>;
using failure = std::optional<kvs::error>;

// An operation on its route: where it is, and what it carries.
struct running_op {
  op_ptr op;
  uint64_t id = 0;                 // in call order (array hazards)
  int64_t bytes = 0;               // its place in the dispatch window
  std::vector<ndarray> send;       // what its push sends when a stage made it (a local sum, rows)
  std::vector<std::vector<ndarray>> packed;  // compressed push: per part, per sent array
  int stage = -1;                  // the stage it entered last
  bool stage_done = true;          // that stage's work is over
  size_t parts_left = 0;           // send stage: parts not yet answered
  uint64_t wire_out = 0;           // bytes of values sent to the shards (packed when compressed)
  uint64_t wire_in = 0;            // bytes of the shards' answers (packed when compressed)
  uint64_t shm_bytes = 0;          // of those, the ones that went through shared memory
  uint64_t shm_in_place_bytes = 0; // of those, read or written in the caller's own arrays
  uint64_t gradient_rows = 0;      // pushed rows the shards' updates took as they were
  failure first_failure;           // later stages skip their work, finish reports it
  std::chrono::system_clock::time_point since{};  // the stage's start (timeline only)

  // What its push sends: what a stage made, else its inputs (not copied
  // into `send`: a vector per operation).
  const std::vector<ndarray>& sent() const { return send.empty() ? op->inputs : send; }
};
using run_ptr = std::shared_ptr<running_op>;

// The operations of one key on their route, in call order.
struct key_route {
  std::deque<run_ptr> ops;
  bool advancing = false;
  bool again = false;
};

// Requests of one turn bound for one shard: fused into one message.
struct pending_part {
  run_ptr run;
  part_range range;
  part_shm shm;  // its ranges of the shared memory segment
};
struct shard_batch {
  part_batch batch;
  std::vector<pending_part> parts;
};

struct worker_state;
using worker_impl = worker_actor::stateful_pointer<worker_state>;

struct stage {
  const char* name;
  bool (*applies)(const worker_state&, const running_op&);
  void (*run)(worker_impl, const run_ptr&);  // ends with stage_finished
};

struct worker_state {
  std::vector<shard_actor> shards;
  reducer_set reducers;
  worker_options opts;
  std::vector<const stage*> route;  // the same for every key of this worker
  dispatch_queue<op_ptr> queue;
  // Operations wait, before they start, for earlier ones that share their
  // arrays (core/array_hazards.hpp); who waits for whom (key and id).
  array_hazards hazards;
  std::unordered_map<uint64_t, std::vector<std::pair<kvs::key, uint64_t>>> dependents;
  std::vector<const void*> storages_scratch[2];  // an operation's storages, as hazards take them
  uint64_t next_id = 0;
  std::unordered_map<kvs::key, key_route, key_hash> routes;
  std::map<uint32_t, shard_batch> outbox;  // sent at the end of the turn
  // The outbox is held back until the flush message this worker sent itself
  // (an empty submit) comes: see holds_back in actors/worker_route.cpp.
  bool flush_pending = false;
  bool flushing = false;  // the flush message's turn: its outbox goes, held or not
  int depth = 0;                           // nested turns
  bool need_dispatch = false;
  deadline_book deadlines;
  std::vector<bool> shard_down;
  std::vector<std::set<uint64_t>> open_requests;  // per shard, for a peer that dies
  compression_setting compression;
  // Compression residuals: per key, one per array a push sends (per device
  // where the shard sums the devices, else the worker's local sum).
  std::unordered_map<kvs::key, std::vector<ndarray>, key_hash> residuals;
  std::optional<shm_ranges> shm_free;  // the segment's ranges (opts.shm set)
  bool shm_full_warned = false;        // the warning that it was full was given
  // Row id vectors of finished operations, whose memory the next row_sparse
  // push or pull reuses: a fresh one each step (80 KB for 10,000 rows) is
  // given back to the kernel by glibc when freed (madvise, a TLB shootdown)
  // and faulted in again.
  std::vector<std::vector<int64_t>> spare_ids;
};

// The route a worker with these options gives its keys.
std::vector<const stage*> make_route(const worker_options& opts);
// How this worker cuts operations into shard requests.
part_options part_opts(const worker_state& st);

// actors/compression_stage.cpp: packs a push's arrays per part (the
// worker's residuals), and unpacks a packed answer of a part: into the
// landing arrays when they are on the host (`value` is then none), else
// into `value`, to be copied there.
extern const stage compress_stage;
failure unpack_answer(const worker_state& st, const part_range& p,
                      const std::vector<ndarray>& landing, ndarray& value);

// One turn of the worker's work. Turns nest; when the outermost ends, it
// starts what the dispatch window lets start and sends the fused batches.
class turn {
public:
  explicit turn(worker_impl self);
  ~turn();
  turn(const turn&) = delete;
  turn& operator=(const turn&) = delete;

private:
  worker_impl self_;
};

// Queues operations from the caller (call order per key). None: the flush
// message, which sends what the outbox held back.
void submit_ops(worker_impl self, std::vector<op_ptr> ops);
// A stage's work for `run` is over (failed or not): move on.
void stage_finished(worker_impl self, const run_ptr& run, failure f = std::nullopt);
// A remote shard's process is gone: everything waiting on it fails now.
void shard_lost(worker_impl self, size_t shard);

}  // namespace kvs::detail
