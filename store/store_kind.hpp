#pragma once
// What a store type string means, as MXNet spells the types: one table, read
// by create() (which types are built in) and by the store (how to place the
// graph). Nothing else compares type strings.
#include <string>
#include <vector>

namespace kvs::detail {

struct store_kind {
  bool builtin = false;          // one of the types built on the actor graph
  bool distributed = false;      // dist_*: the shards live in server processes
  bool reduces_on_gpus = false;  // a reducer per GPU present (device types)
  bool nccl = false;             // one NCCL communicator reduces over every GPU
  bool sync = true;              // rounds over all workers; false: dist_async
};

// The kind of `type`; builtin is false for any other name (a backend's).
store_kind classify_store(const std::string& type);

// The built-in type names, in MXNet's order.
const std::vector<std::string>& builtin_store_types();

}  // namespace kvs::detail
