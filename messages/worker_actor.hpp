#pragma once
// The worker's interface: operations from the store's caller side, one per
// key; the updater setting, and optimizer state saved from and loaded into
// every shard. In-process only: operations carry handles to
// the caller's arrays and to its completion tracker.
#include <memory>
#include <optional>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "kvs/error.hpp"
#include "kvs/key.hpp"
#include "kvs/ndarray.hpp"
#include "kvs/updater_actor.hpp"
#include "messages/reducer_actor.hpp"
#include "messages/shard_actor.hpp"

namespace kvs::detail {
// The caller's side of operations (core/op_tracker.hpp); the worker only
// passes them on, and operation::finish, defined with the worker, reports.
class op_tracker;
class completion;
}  // namespace kvs::detail

namespace kvs {

enum class op_kind : uint8_t { init, push, pull, pushpull };
const char* to_string(op_kind k);

struct operation {
  op_kind kind = op_kind::push;
  kvs::key key;
  int priority = 0;
  std::vector<ndarray> inputs;   // init: the value; push: per-device values
  std::vector<ndarray> outputs;  // pull and pushpull: the caller's arrays
  // Where the pulled value arrives, one per output: the output itself, or
  // an array of the key's dtype that the worker converts into it.
  std::vector<ndarray> landing;
  kvs::device target = cpu();    // init: where the shard keeps the value
  // Rows (actors/worker_route.cpp, stage "rows"). push: every input is
  // row_sparse (sent as rows, never densified); the stage sums them into
  // `rows` and one buffer. pull with select_rows: the outputs are row_sparse
  // and get only the rows in `row_ids` (none: every row), which the stage
  // makes sorted and unique into `rows`.
  bool sparse = false;
  bool select_rows = false;
  ndarray row_ids;
  std::vector<int64_t> rows;
  // Elements per row when the key is split across shards by rows (keys
  // initialized row_sparse); 0: split by elements (MXNet's rule).
  uint64_t row_split = 0;
  // The rows buffers of row_sparse inputs marked as read at submit: finish
  // ends the marks of these very handles (an input's buffer may be another
  // by then).
  std::vector<ndarray> read_rows;
  std::shared_ptr<detail::op_tracker> tracker;
  std::shared_ptr<detail::completion> done;  // set for operations the caller waits on
  std::chrono::system_clock::time_point queued_at{};  // when traced (KVS_TIMELINE)

  // An array of the operation's size and dtype (the first input, else the
  // first landing array): what part planning and the dispatch window measure.
  // (A pull of rows: its first row_sparse output, of the key's shape and
  // dtype; its landing arrays hold only the rows.)
  const ndarray& sample() const {
    if (select_rows)
      return outputs.front();
    return inputs.empty() ? landing.front() : inputs.front();
  }

  // Releases the arrays (inputs readable by writers again, outputs readable
  // or failed) and reports to the tracker.
  void finish(const std::optional<kvs::error>& failure);
};

struct op_batch {
  std::vector<std::shared_ptr<operation>> ops;
};

using worker_actor =
    caf::typed_actor<caf::reacts_to<submit_atom, op_batch>, caf::reacts_to<tick_atom>,
                     caf::replies_to<updater_atom, updater_setting>::with<ok_atom>,
                     // compression (command 4's body); the flag: tell the shards too
                     caf::replies_to<compression_atom, std::string, bool>::with<ok_atom>,
                     caf::replies_to<save_atom>::with<std::vector<key_state>>,
                     caf::replies_to<load_atom, std::vector<key_state>, bool>::with<ok_atom>>;

}  // namespace kvs

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kvs::op_batch)
