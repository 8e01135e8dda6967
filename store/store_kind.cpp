#include "store/store_kind.hpp"

#include <utility>

namespace kvs::detail {

namespace {

struct named_kind {
  const char* name;
  store_kind kind;
};

// builtin, distributed, reduces_on_gpus, nccl, sync
const std::vector<named_kind>& table() {
  static const std::vector<named_kind> t{
      {"local", {true, false, false, false, true}},
      {"local_update_cpu", {true, false, false, false, true}},
      {"local_allreduce_cpu", {true, false, false, false, true}},
      {"device", {true, false, true, false, true}},
      {"local_allreduce_device", {true, false, true, false, true}},
      {"nccl", {true, false, true, true, true}},
      {"dist_sync", {true, true, false, false, true}},
      {"dist_device_sync", {true, true, true, false, true}},
      {"dist_sync_device", {true, true, true, false, true}},
      {"dist_async", {true, true, false, false, false}},
  };
  return t;
}

}  // namespace

store_kind classify_store(const std::string& type) {
  for (auto& entry : table())
    if (type == entry.name)
      return entry.kind;
  return store_kind{};
}

const std::vector<std::string>& builtin_store_types() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (auto& entry : table())
      out.emplace_back(entry.name);
    return out;
  }();
  return names;
}

}  // namespace kvs::detail
