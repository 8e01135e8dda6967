#include "core/array_hazards.hpp"

#include <algorithm>
#include <iterator>

namespace kvs::detail {

namespace {
// The distinct storages of `v`: `v` itself when it holds no storage twice
// (the common case, an operation lists one per device: checked by a scan,
// no copy, no allocation per operation), else a sorted, unique copy in `tmp`.
const std::vector<const void*>& distinct(const std::vector<const void*>& v,
                                         std::vector<const void*>& tmp) {
  constexpr size_t scanned = 8;  // beyond this a scan would cost more than a sort
  if (v.size() <= scanned) {
    bool twice = false;
    for (size_t i = 1; i < v.size() && !twice; ++i)
      twice = std::find(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v[i]) !=
              v.begin() + static_cast<std::ptrdiff_t>(i);
    if (!twice)
      return v;
  }
  tmp = v;
  std::sort(tmp.begin(), tmp.end());
  tmp.erase(std::unique(tmp.begin(), tmp.end()), tmp.end());
  return tmp;
}
}  // namespace

std::vector<uint64_t> array_hazards::add(uint64_t id, const std::vector<const void*>& all_reads,
                                         const std::vector<const void*>& all_writes) {
  std::vector<const void*> tmp_reads, tmp_writes;
  auto& reads = distinct(all_reads, tmp_reads);
  auto& writes = distinct(all_writes, tmp_writes);
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
    put(s, access{id, false});
  for (auto s : writes)
    put(s, access{id, true});
  std::sort(waits.begin(), waits.end());
  waits.erase(std::unique(waits.begin(), waits.end()), waits.end());
  return waits;
}

void array_hazards::put(const void* storage, access a) {
  if (spare_.empty()) {
    by_storage_.emplace(storage, a);
    return;
  }
  auto node = std::move(spare_.back());
  spare_.pop_back();
  node.key() = storage;
  node.mapped() = a;
  by_storage_.insert(std::move(node));
}

void array_hazards::remove(uint64_t id, const std::vector<const void*>& storages) {
  for (auto s : storages) {
    auto [i, last] = by_storage_.equal_range(s);
    while (i != last) {
      auto at = i++;
      if (at->second.id != id)
        continue;
      if (spare_.size() < spare_nodes)
        spare_.push_back(by_storage_.extract(at));
      else
        by_storage_.erase(at);
    }
  }
}

}  // namespace kvs::detail
