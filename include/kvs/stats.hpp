#pragma once
// Counters of a store (kvstore::stats()), per key and in total, as this
// worker saw them: operations finished (init, push, pull, pushpull, ...),
// tensor bytes sent to the shards and received from them, the rounds its
// pushes took part in (one per push; in dist_sync a round also waits for the
// other workers), and the pushed rows updated without densifying.
// docs/training.md, "Seeing what the store does".
#include <cstdint>
#include <utility>
#include <vector>

#include "kvs/key.hpp"

namespace kvs {

struct key_stats {
  uint64_t operations = 0;
  uint64_t bytes_out = 0;  // sent to the shards (after the per-device sum where summed
                           // here; packed under gradient compression)
  uint64_t bytes_in = 0;   // the shards' answers (once per answer from another process,
                           // once per output written in this process; packed if compressed)
  uint64_t rounds = 0;
  uint64_t shm_bytes = 0;  // of bytes_out and bytes_in, those that moved through shared
                           // memory instead of messages (docs/distributed.md, "Two planes")
  uint64_t shm_in_place_bytes = 0;  // of shm_bytes, those a server read straight from the
                                    // caller's array or wrote straight into its output (the
                                    // array lives in the shared memory arena: no copy here;
                                    // docs/distributed.md, "Arrays in shared memory")
  // Rows of row_sparse pushes that the shards' updater took as they were
  // pushed, as a row_sparse gradient: no dense buffer of the key's size was
  // cleared, filled or read for them (a built-in lazy optimizer, a round of
  // one push: docs/values.md, "Rows as the gradient").
  uint64_t sparse_gradient_rows = 0;
};

struct store_stats {
  key_stats total;
  std::vector<std::pair<key, key_stats>> keys;  // in the order keys were first used
};

}  // namespace kvs
