#include "core/array_hazards.hpp"

#include <algorithm>
#include <iterator>

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
  // All conflicts first: a storage both read and written by this operation
  // must not make it wait for itself.
  auto conflicts = [&](const void* s, bool writing) {
    auto [first, last] = by_storage_.equal_range(s);
    for (auto i = first; i != last; ++i)
      if (writing || i->second.write)
        waits.push_back(i->second.id);
  };
  for (auto s : reads)
    conflicts(s, false);
  for (auto s : writes)
    conflicts(s, true);
  for (auto s : reads)
    by_storage_.emplace(s, access{id, false});
  for (auto s : writes)
    by_storage_.emplace(s, access{id, true});
  std::sort(waits.begin(), waits.end());
  waits.erase(std::unique(waits.begin(), waits.end()), waits.end());
  return waits;
}

void array_hazards::remove(uint64_t id, const std::vector<const void*>& storages) {
  for (auto s : storages) {
    auto [i, last] = by_storage_.equal_range(s);
    while (i != last)
      i = i->second.id == id ? by_storage_.erase(i) : std::next(i);
  }
}

}  // namespace kvs::detail
