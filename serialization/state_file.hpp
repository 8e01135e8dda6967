#pragma once
// Optimizer-state files (save_optimizer_states / load_optimizer_states):
//   8 bytes magic "KVSOSTAT", u32 format version, u64 payload size,
//   u64 FNV-1a 64 of the payload, then the payload: a cereal binary archive
//   of the optimizer configuration (when dumped) and every key's state and
//   update count (the scheduler's position). Written to a temporary file and renamed, so a crash never leaves
//   half a file under the name.
#include <string>
#include <vector>

#include "messages/shard_actor.hpp"

namespace kvs::detail {

struct state_file {
  bool has_optimizer = false;
  std::string optimizer_bytes;  // optimizer::serialize()
  std::vector<key_state> keys;
};

// Throws kvs::error io_error.
void write_state_file(const std::string& path, const state_file& content);
// Throws kvs::error: io_error (missing, unreadable), corrupt_file (bad magic,
// version, size, checksum or contents).
state_file read_state_file(const std::string& path);
// A whole file's bytes, read from `path` (named in errors): the header's
// checks, then the payload's.
state_file parse_state_file(const std::string& file, const std::string& path);
// The payload's contents (after the header's checks); throws corrupt_file
// naming `name` when they are malformed. What read_state_file uses, and what
// the fuzz target feeds.
state_file parse_state_payload(const std::string& payload, const std::string& name);

}  // namespace kvs::detail
