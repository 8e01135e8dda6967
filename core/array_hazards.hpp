#pragma once
// Which earlier operations an operation must wait for because of the arrays
// they share, a plain class (no actors): it reads what an earlier one writes
// (read after write), or writes what an earlier one reads or writes (write
// after read, write after write). What MXNet's engine orders by its
// variables, the worker orders with this before an operation starts, across
// keys too: pull(1, x); push(2, x) pushes the pulled value.
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace kvs::detail {

class array_hazards {
public:
  // Registers operation `id` (ids grow in call order) with the storages it
  // reads and writes (a storage may be listed twice); returns the earlier,
  // unfinished operations it waits for.
  std::vector<uint64_t> add(uint64_t id, const std::vector<const void*>& reads,
                            const std::vector<const void*>& writes);
  // Operation `id` has finished: it holds none of its storages any more.
  void remove(uint64_t id, const std::vector<const void*>& storages);
  bool empty() const { return by_storage_.empty(); }

private:
  struct access {
    uint64_t id;
    bool write;
  };
  using table = std::unordered_multimap<const void*, access>;
  // Takes a node of `spare_` for the access when there is one.
  void put(const void* storage, access a);
  // One node per access (a storage has one in the common case: one
  // allocation, where a map of vectors took two per storage and operation).
  table by_storage_;
  // Nodes of finished accesses, reused by the next ones (C++17 node
  // handles): no allocation per operation once the worker runs steadily.
  // At most spare_nodes are kept.
  static constexpr size_t spare_nodes = 4096;
  std::vector<table::node_type> spare_;
};

}  // namespace kvs::detail
