#include "core/array_hazards.hpp"

#include <algorithm>

namespace kvs::detail {

namespace {
void unique_sorted(std::vector<const void*>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}
}  // namespace

std::vector<uint64_t> array_hazards::add(uint64_t id, std::vector<const void*> reads,
                                         std::vector<const void*> writes) {
  unique_sorted(reads);
  unique_sorted(writes);
  std::vector<uint64_t> waits;
  // One lookup per storage: its earlier accesses are read, then this one
  // added (a storage both read and written skips its own read here).
  auto record = [&](const void* s, bool writing) {
    auto& accesses = by_storage_[s];
    for (auto& a : accesses)
      if ((writing || a.write) && a.id != id)
        waits.push_back(a.id);
    accesses.push_back(access{id, writing});
  };
  for (auto s : reads)
    record(s, false);
  for (auto s : writes)
    record(s, true);
  std::sort(waits.begin(), waits.end());
  waits.erase(std::unique(waits.begin(), waits.end()), waits.end());
  return waits;
}

void array_hazards::remove(uint64_t id, const std::vector<const void*>& storages) {
  for (auto s : storages) {
    auto i = by_storage_.find(s);
    if (i == by_storage_.end())
      continue;
    auto& v = i->second;
    v.erase(std::remove_if(v.begin(), v.end(), [id](const access& a) { return a.id == id; }),
            v.end());
    if (v.empty())
      by_storage_.erase(i);
  }
}

}  // namespace kvs::detail
