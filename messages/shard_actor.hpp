#pragma once
// The key shard's interface. The same handle type serves an in-process shard
// and one in a server process; a key too big for one shard arrives as parts.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "kvs/key.hpp"
#include "kvs/updater_actor.hpp"
#include "messages/array_view.hpp"
#include "messages/errors.hpp"
#include "messages/reducer_actor.hpp"

namespace kvs {

class optimizer;

struct part_id {
  kvs::key key;
  uint32_t part = 0;  // index of this part among the key's parts
};

enum class part_op : uint8_t { init, push, pull, pull_rows };

// One request on one key part. init: inputs[0] is the value (copied into the
// shard's own storage). push: inputs are summed into the round; outputs, if
// any (pushpull), get the value once the round is done. pull: outputs get
// the value (after the worker's own open round, if it pushed in it).
// pull_rows: as pull, but outputs[0] gets only `rows`, one after another.
// Row ids in `rows` count from the part's first row.
struct part_request {
  part_op op = part_op::push;
  part_id id;
  int32_t worker = 0;               // the requesting worker's rank
  std::vector<array_view> inputs;
  std::vector<array_view> outputs;  // destinations: only their size travels
  // push: sparse means inputs[0] holds only `rows` (sorted, unique), one
  // after another; pull_rows: the rows asked for.
  bool sparse = false;
  std::vector<int64_t> rows;
  // Set on arrival only (not sent): the ids were above this node's receive
  // cap, skipped, and the request is answered with this (as array_view's).
  std::string rows_refused = {};
  uint64_t row_len = 0;             // init: the part holds whole rows of this many elements
  bool on_gpu = false;              // init: keep the value on gpu(gpu_id)
  int32_t gpu_id = 0;               //   (device stores; else host memory)
  // push: the worker could not make its input (its pre-sum failed: errc and
  // why). It still takes its place in the round, without inputs, so the
  // round completes, failed, for every worker instead of timing out.
  bool failed = false;
  uint8_t failed_code = 0;
  std::string failed_why;
  // push: the inputs are packed with this codec (core/compression.hpp's
  // numbering; 0: plain values), one packed array per input.
  uint8_t codec = 0;
};

// Requests to one shard sent together (small keys fused into one message);
// served in order, answered together.
struct part_batch {
  std::vector<part_request> items;
};

// The answer to one request: ok, or an error; a requester in another process
// gets the value of a pull or pushpull here (in process it is already in
// the outputs). With compressed pulls the value comes packed, in process too:
// an array of dtype u8 answering a key of f32 values (only f32 keys are
// compressed, so no plain answer looks like that).
struct part_result {
  bool ok = true;
  uint8_t code = 0;  // errc when !ok
  std::string message;
  ndarray value;
  // push: rows of it that the round's update took as they were pushed, as a
  // row_sparse gradient (kvs::key_stats::sparse_gradient_rows)
  uint64_t gradient_rows = 0;
};

struct batch_reply {
  std::vector<part_result> results;
};

namespace detail {
// One request's answer in a batch reply, as reply() for a promise: the
// failure's code and text, else ok, the value and the rows taken as they were.
inline void reply(part_result& slot, const failure& f, ndarray value, uint64_t gradient_rows) {
  slot.ok = !f.has_value();
  if (f) {
    slot.code = static_cast<uint8_t>(f->code());
    slot.message = f->what();
  }
  slot.value = std::move(value);
  slot.gradient_rows = f ? 0 : gradient_rows;
}
// The failure an answer carries, if any.
inline failure failure_of(const part_result& r) {
  if (r.ok)
    return std::nullopt;
  return kvs::error(static_cast<errc>(r.code), r.message);
}
}  // namespace detail

// How the shard runs updates: the updater, and the state it keeps per key
// for it (zeros of the weight's shape; fp32 when multi_precision, which also
// keeps an fp32 master copy of 16-bit weights as the last state array).
struct updater_setting {
  updater_actor actor;  // invalid: no updater (stored = sum)
  uint32_t state_arrays = 0;
  bool multi_precision = false;
  // The updater updates only a row_sparse gradient's rows and takes them as
  // they are (the built-in lazy optimizers): a round of one row_sparse push
  // then hands over its rows, with no dense merge buffer to clear and fill.
  bool takes_rows = false;
  // The built-in optimizer that `actor` runs, in this process only (never
  // sent; a setting from another node arrives without it): the shard then
  // runs a small lazy update itself (actors/key_round.cpp, run_update).
  std::shared_ptr<const optimizer> built_in = nullptr;
};

// One key part's optimizer state, as saved and loaded.
struct key_state {
  kvs::key key;
  uint32_t part = 0;
  uint64_t count = 0;  // updates applied to this key
  std::vector<ndarray> arrays;
};

// A worker's shared memory segment (core/shm_segment.hpp), announced to a
// shard over the actors' channel: the shard maps it only if it can open
// /proc/<pid>/fd/<fd> and reads `nonce` there; it then writes a challenge
// into the segment's header and waits for an shm_echo of it from `owner`'s
// node (only a process that can read the segment can answer: a replayed
// announcement binds nothing). The segment belongs to `owner`'s node: only
// requests from that node may name it, and it is unmapped when `owner` ends.
struct shm_announce {
  caf::actor owner;
  uint32_t segment = 0;  // the id its descriptors name
  int64_t pid = 0;
  int64_t fd = 0;
  uint64_t size = 0;
  uint64_t nonce_hi = 0, nonce_lo = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shm_announce& x) {
  return f(caf::meta::type_name("shm_announce"), x.owner, x.segment, x.pid, x.fd, x.size,
           x.nonce_hi, x.nonce_lo);
}
// The challenge a shard wrote into segment `segment`, as its owner read it.
struct shm_echo {
  uint32_t segment = 0;
  uint64_t challenge_hi = 0, challenge_lo = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shm_echo& x) {
  return f(caf::meta::type_name("shm_echo"), x.segment, x.challenge_hi, x.challenge_lo);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_id& x) {
  return f(caf::meta::type_name("part_id"), x.key, x.part);
}
// A request's row ids travel as one block (their count, then the int64s as
// they lie in memory, as tensor bytes do), not one by one: CAF's per-element
// calls for the 5,000 ids of a step's part cost more than their bytes. On
// arrival the block must be present in the message and within the receive
// cap before anything is allocated (serialization/ndarray_inspect.cpp).
caf::error save_row_ids(caf::serializer& sink, const std::vector<int64_t>& ids);
// With `refused`, ids above the receive cap are skipped and it says why
// (the request is answered with it); without, such a message is dropped.
caf::error load_row_ids(caf::deserializer& source, std::vector<int64_t>& ids,
                        std::string* refused = nullptr);

struct row_id_block {
  std::vector<int64_t>* ids;
  std::string* refused = nullptr;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, row_id_block& x) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value)
    return save_row_ids(f, *x.ids);
  else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value)
    return load_row_ids(f, *x.ids, x.refused);
  else
    return f(*x.ids);
}

// A plain push or pull of an integer key with its values in shared memory
// travels compact, in one block of bytes; others field by field
// (serialization/part_request_inspect.cpp).
caf::error save_request(caf::serializer& sink, part_request& x);
caf::error load_request(caf::deserializer& source, part_request& x);
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_request& x) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    return save_request(f, x);
  } else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value) {
    return load_request(f, x);
  } else {
    row_id_block rows{&x.rows};
    return f(caf::meta::type_name("part_request"), x.op, x.id, x.worker, x.inputs, x.outputs,
             x.sparse, rows, x.row_len, x.on_gpu, x.gpu_id, x.failed, x.failed_code,
             x.failed_why, x.codec);
  }
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_batch& x) {
  return f(caf::meta::type_name("part_batch"), x.items);
}
// Most answers are a plain ok (the value went into shared memory or the
// caller's arrays): one form byte instead of five fields; others follow it
// field by field.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_result& x) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    uint8_t plain = x.ok && x.code == 0 && x.message.empty() && x.value.is_none() &&
                    x.gradient_rows == 0;
    if (auto err = f(plain))
      return err;
    return plain ? caf::error{} : f(x.ok, x.code, x.message, x.value, x.gradient_rows);
  } else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value) {
    uint8_t plain = 0;
    if (auto err = f(plain))
      return err;
    if (plain > 1)
      return to_caf_error(errc::corrupt_file,
                          "part result: unknown form " + std::to_string(plain));
    x = part_result{};
    return plain ? caf::error{} : f(x.ok, x.code, x.message, x.value, x.gradient_rows);
  } else {
    return f(caf::meta::type_name("part_result"), x.ok, x.code, x.message, x.value,
             x.gradient_rows);
  }
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_reply& x) {
  return f(caf::meta::type_name("batch_reply"), x.results);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, updater_setting& x) {
  return f(caf::meta::type_name("updater_setting"), x.actor, x.state_arrays, x.multi_precision,
           x.takes_rows);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_state& x) {
  return f(caf::meta::type_name("key_state"), x.key, x.part, x.count, x.arrays);
}

// batch: serves the requests in order (one key's requests one at a time),
// answers when all are done. updater: every later round uses it (an invalid
// handle clears it: stored = sum); a new updater starts from empty state.
// save: a copy of every key's optimizer state. load: replaces the state of
// the listed keys this shard owns (others start over); with the flag set,
// their update counts too (else counts stay). sync: rounds over all workers
// (true) or one push each (dist_async). worker_down: rounds that wait for
// that worker fail. tick: the shard's own deadline check. compression: how
// pushes arrive packed and whether pulls are answered packed (the body of
// server command 4, "<type>,<threshold>[,pull]"). shm (announce): maps a
// worker's shared memory segment and writes a challenge into it, or says why
// not (that worker stays on CAF); shm (echo): binds it when the challenge
// read back is right.
using shard_actor =
    caf::typed_actor<caf::replies_to<batch_atom, part_batch>::with<batch_reply>,
                     caf::replies_to<updater_atom, updater_setting>::with<ok_atom>,
                     caf::replies_to<save_atom>::with<std::vector<key_state>>,
                     caf::replies_to<load_atom, std::vector<key_state>, bool>::with<ok_atom>,
                     caf::replies_to<sync_atom, bool>::with<ok_atom>,
                     caf::replies_to<compression_atom, std::string>::with<ok_atom>,
                     caf::reacts_to<worker_down_atom, int32_t>,
                     caf::reacts_to<tick_atom>,
                     caf::replies_to<shm_atom, shm_announce>::with<ok_atom>,
                     caf::replies_to<shm_atom, shm_echo>::with<ok_atom>>;

}  // namespace kvs
