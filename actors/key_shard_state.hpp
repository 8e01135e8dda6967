#pragma once
// The key shard's state, shared by its handlers (actors/key_shard.cpp) and
// the work on one key: pushes, rounds, updates, pulls (actors/key_round.cpp).
#include <set>
#include <unordered_map>
#include <utility>

#include <caf/all.hpp>

#include "actors/deadlines.hpp"
#include "actors/device_job.hpp"
#include "actors/key_entry.hpp"
#include "actors/key_shard.hpp"
#include "actors/shard_shm.hpp"
#include "core/compression.hpp"

namespace kvs::detail {

struct entry_id {
  kvs::key key;
  uint32_t part;
  bool operator==(const entry_id& o) const { return part == o.part && key == o.key; }
};

struct entry_id_hash {
  size_t operator()(const entry_id& x) const { return key_hash{}(x.key) * 31u + x.part; }
};

struct shard_state {
  reducer_set reducers;
  updater_setting updater;
  shard_options opts;
  std::unordered_map<entry_id, key_entry, entry_id_hash> entries;
  compression_setting compression;  // set_gradient_compression / server command 4
  std::set<int32_t> dead_workers;
  deadline_book deadlines;
  shard_shm shm;  // workers' shared memory segments (actors/shard_shm.cpp)
  // Row elements of the lazy updates run here since the last batch message
  // began (serve_batch resets it): bounded by opts.inline_update_bound.
  int64_t inline_update_spent = 0;
  // A pull of rows sent right behind a push of rows of the same key part,
  // by the same worker, in one message (serve_batch pairs them), while the
  // push runs: it joins the push's round (join_round takes it), so an update
  // run here writes the pulled rows in its own pass (run_update).
  struct riding_pull {
    const key_entry* entry = nullptr;
    part_request request;
    item_done done;
    bool remote = false;
  };
  std::optional<riding_pull> riding;
};

using shard_impl = shard_actor::stateful_pointer<shard_state>;

// Work on a key runs on the key's turn: the entry is busy, and each piece of
// work ends with done_with, which releases it (unless a timed-out update
// still holds the key: its answer releases it).
void done_with(key_entry& e);

// actors/key_push.cpp: a push joins the open round; a pull gets the value,
// or waits for the round its worker pushed in.
void do_push(shard_impl self, key_entry& e, part_request& m, bool remote, item_done done);
// Sums the round's held packed pushes into its merge buffer (nothing if
// none), packing the sum for `pack_for`'s pull as it goes (sum_held).
void sum_held_pushes(const shard_state& st, key_entry& e,
                     std::optional<int32_t> pack_for = std::nullopt);
void do_pull(shard_impl self, key_entry& e, part_request& m, bool remote, item_done done);
// A pull of this worker's push in the open round (a riding pull): held by
// the round, answered after it; rows checked first, as do_pull does.
void hold_pull(key_entry& e, part_request& m, bool remote, item_done done);

// actors/key_deferred.cpp: a dist_sync round's first dense pushes from
// shared memory are kept as they lie (defers_push; defer_push checks one as
// its sum would, throwing kvs::error, and keeps it) and summed in one pass
// with a later push of one plain input (takes_deferred), in their order;
// anything else pushed into that round sums them into merge first. They are
// dropped when the round is answered, whatever its end.
bool defers_push(const shard_state& st, const key_entry& e, const part_request& m,
                 int round_size);
void defer_push(key_entry& e, part_request& m);
// Checks a push's inputs against the key as its sum would (throws kvs::error).
void check_inputs(const key_entry& e, part_request& m);
bool takes_deferred(const key_entry& e, const part_request& m);

// actors/round_rows.cpp, a round's row_sparse pushes. takes_pushed_rows:
// the shard's optimizer takes a row_sparse push's rows as its gradient (an
// updater that takes rows; host float or double values). A round of several
// such pushes holds them as they came (holds_rows, hold_rows: while every
// push of the round so far was held), and sum_held_rows makes the round's
// gradient of them when it completes: the union of their ids, each row 0 +
// the pushes' rows in their order (as the merge buffer's sum), read before
// any push of the round is answered. merge_held_rows sums them into the
// merge buffer instead, in their order, before a push of another kind is
// summed into the round. sum_rows sums one row push into the round: into
// stored (`direct`: zero elsewhere) or into the merge buffer, which the
// round's `first` push clears (only its rows that may be nonzero, when known).
bool takes_pushed_rows(const shard_state& st, const key_entry& e, const part_request& m);
bool holds_rows(const shard_state& st, const key_entry& e, const part_request& m, bool alone);
void hold_rows(key_entry& e, part_request& m);
void sum_held_rows(key_entry& e);
void merge_held_rows(key_entry& e);
void sum_rows(key_entry& e, const std::vector<int64_t>& ids, const array_view& src, bool direct,
              bool first);

// actors/shard_shm.cpp, the shard's side of shared memory. accept_segment
// maps a segment a worker announced and writes a challenge into it;
// bind_segment makes it usable when its owner's node echoes that challenge
// (both throw kvs::error saying why not);
// drop_segments unmaps those of an owner that ended. A request that
// names_shm is resolved before it is served (`from`: its sender's node):
// each range checked against its key part (dtype, size) and the mapping's
// bounds; a pushed value becomes an array over the range that holds the
// mapping (the bytes are returned), and a pull of rows gets its landing
// range as its output (gathered there as in process; answered without a
// value); throws kvs::error naming what is wrong.
// land_in_shm wraps any other pull's answer: the value is written into the
// request's landing range and answered without it.
void accept_segment(shard_impl self, const shm_announce& a);
void bind_segment(shard_impl self, const shm_echo& echo);
void drop_segments(shard_impl self, const caf::actor_addr& gone);
bool names_shm(const part_request& m);
uint64_t resolve_shm(shard_impl self, const caf::node_id& from, part_request& m);
item_done land_in_shm(shard_impl self, const caf::node_id& from, const part_request& m,
                      item_done next);
// actors/key_compression.cpp, the shard's side of compression. A packed
// push is checked against the shard's setting and the key (throws
// kvs::error naming what is wrong); then either summed as it is unpacked,
// in one pass (sums_packed: one host input; sum_packed runs the push's
// reduce_job, whose input is the packed bytes), or its inputs replaced by
// the values they stand for (unpack_push), to be summed as plain inputs.
// And the packed answer to a worker's pull of a summed float32 key
// (compressed pulls on): packed once per sum and residual, so workers
// that were sent the same sums share the work and one residual array.
void check_packed(const shard_state& st, const key_entry& e, const part_request& m);
bool sums_packed(const key_entry& e, const part_request& m);
void sum_packed(const shard_state& st, const reduce_job& job);
void unpack_push(const shard_state& st, const key_entry& e, part_request& m);
// A packed push summed with the round's others (not `direct`: a round of
// several pushes, or an updater) is held (hold_packed) while the pushes
// held so far share its codec and threshold; sum_held sums the held pushes
// into `job`'s destination, in one pass, in their order, and forgets them;
// with `pack_for` (the round completes; compressed pulls), it also packs
// the sum for that worker's pull in the same pass (what pack_answer would).
// Held pushes are at most the round's float buffer's bytes (4 a value):
// held_full says holding `m` too would pass that, and what is held is
// summed into the buffer first, so what a round keeps, and the work left
// for its completion, do not grow with the number of workers.
bool holds_packed(const shard_state& st, const key_entry& e, bool direct);
void hold_packed(const shard_state& st, key_entry& e, const part_request& m);
bool held_full(const key_entry& e, const part_request& m);
void sum_held(const shard_state& st, key_entry& e, const reduce_job& job,
              std::optional<int32_t> pack_for);
ndarray pack_answer(const shard_state& st, key_entry& e, int32_t worker);
// A round completed: the packed answers of the last sum are set aside and
// returned (a residual no worker holds any more is kept for reuse);
// restore_pull_sum puts them back when making the new sum fails, so a
// worker that pulls the old sum again gets the bytes it was sent (its
// residual charged once).
struct last_pull_sum {
  bool summed;
  std::unordered_map<int32_t, ndarray> packed;
  std::vector<key_entry::pull_packing> packings;
  ndarray spare;
};
last_pull_sum new_pull_sum(key_entry& e);
void restore_pull_sum(key_entry& e, last_pull_sum last);
// Takes a compression setting (command 4's body); refused with compressed
// pulls while an updater runs in the shard.
failure set_compression(shard_state& st, const std::string& body);

// actors/key_round.cpp:
// Before the shard writes into `a` (stored or merge): if an answer still on
// its way to another process holds it, write into a copy instead, so the
// answer is serialized with the value it was given (copy-on-write).
void make_exclusive(ndarray& a);
// How the shard runs reduce and copy jobs (inline, or on a reducer).
job_runner runner(shard_impl self);
// Adds a push already summed into the round's buffer (or taken as the
// round's gradient) to the open round; completes the round when `round_size`
// workers have pushed (`direct`: the sum is already the stored value).
void join_round(shard_impl self, key_entry& e, int32_t worker, held_reply h, int round_size,
                bool direct);
// Answers each of `held` with the stored value (written into in-process
// outputs; carried in the answer for another process), or with `err`.
void deliver_value(shard_impl self, key_entry& e, std::vector<held_reply> held, failure err);
// Fails the key's open round, if it has one, with `err`.
void fail_round(shard_impl self, key_entry& e, const kvs::error& err);

// What a piece of the key's work threw: `also` (the request at hand, if it
// has not joined the round) and every request held by the open round get the
// error, naming the key; the round starts over and the key is released.
void recover(shard_impl self, key_entry& e, const item_done* also, const kvs::error& err);

// Runs `body`, a piece of the key's work, so that nothing it throws escapes
// the actor (CAF would end the shard): see recover.
template <class Body>
void guarded(shard_impl self, key_entry& e, const item_done* also, Body&& body) {
  if (auto f = capture(std::forward<Body>(body)))
    recover(self, e, also, *f);
}

}  // namespace kvs::detail
