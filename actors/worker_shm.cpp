#include "actors/worker_shm.hpp"

#include "actors/cpu_kernels.hpp"
#include "actors/worker_route.hpp"
#include "core/array_impl.hpp"
#include "core/log.hpp"
#include "core/shm_arena.hpp"

namespace kvs::detail {

namespace {

// Plain values only: a dense push or pull, a row_sparse push's rows (its ids
// stay in the message), a pull of rows (the worker knows how many it asked
// for, so it can name a landing range for them).
bool uses_shm(const worker_state& st, uint32_t shard, const part_request& req) {
  return st.opts.shm && st.shm_free && shard < st.opts.shm_shards.size() &&
         st.opts.shm_shards[shard] && st.compression.type == codec::none && req.codec == 0 &&
         !req.failed &&
         (req.op == part_op::push || req.op == part_op::pull || req.op == part_op::pull_rows);
}

// A range of `bytes` for one view, or nothing (too small, or the segment full).
std::optional<uint64_t> take_range(worker_state& st, part_shm& ps, uint64_t bytes) {
  if (bytes == 0 || bytes < st.opts.shm_min_bytes)
    return std::nullopt;
  auto at = st.shm_free->take(bytes);
  if (at) {
    ps.taken.push_back(*at);
  } else if (!st.shm_full_warned) {
    st.shm_full_warned = true;
    log::warn("kvs worker: a part of " + std::to_string(bytes) +
              " bytes found no free range in the shared memory segment (" +
              std::to_string(st.shm_free->in_use()) + " of " + std::to_string(st.opts.shm->size()) +
              " bytes held by parts in flight, or kept out of use after a timeout or a lost "
              "server): parts that do not fit travel in CAF's messages; KVS_SHM_BYTES sets the "
              "size (said once)");
  }
  return at;
}

uint64_t view_bytes(const array_view& v) { return v.count * size_of(v.array.dtype()); }


// The view's own range in the arena, when its memory lies there, its shard
// mapped the arena, and the range starts on the boundary a shard checks (a
// part cut elsewhere is copied).
std::optional<shm_range> arena_range(const worker_state& st, uint32_t shard, const array_view& v) {
  if (!st.opts.arena || shard >= st.opts.arena_shards.size() || !st.opts.arena_shards[shard] ||
      v.array.is_none() || v.array.storage() != storage::dense || on_gpu(v.array))
    return std::nullopt;
  auto bytes = view_bytes(v);
  if (bytes == 0 || bytes < st.opts.shm_min_bytes)
    return std::nullopt;
  auto at = shm_arena::instance().offset_of(view_memory(v), bytes);
  if (!at || *at % shm_range_alignment != 0)
    return std::nullopt;
  return shm_range{st.opts.arena_id, *at, bytes};
}

}  // namespace

part_shm place_in_shm(worker_state& st, uint32_t shard, part_request& req, running_op& run) {
  part_shm ps;
  if (!uses_shm(st, shard, req))
    return ps;
  auto* base = st.opts.shm->base();
  auto id = st.opts.shm_segment_id;
  ps.in_place.reserve(req.inputs.size() + req.outputs.size());  // one allocation per part
  for (auto& v : req.inputs) {
    if (!v.carries_data || v.array.is_none() || v.array.storage() != storage::dense)
      continue;
    auto bytes = view_bytes(v);
    if (auto own = arena_range(st, shard, v)) {  // read where it lies
      v.shm = *own;
      ps.in_place.push_back(view_memory(v));
      run.shm_bytes += bytes;
      run.shm_in_place_bytes += bytes;
      continue;
    }
    auto at = take_range(st, ps, bytes);
    if (!at)
      continue;  // in the message
    cuda_or_memcpy(base + *at, cpu(), view_memory(v), v.array.device(), bytes);
    v.shm = shm_range{id, *at, bytes};
    run.shm_bytes += bytes;
  }
  if (req.outputs.size() == 1 && !req.outputs[0].array.is_none()) {
    auto& v = req.outputs[0];
    if (auto own = arena_range(st, shard, v)) {  // written where it lies
      v.shm = *own;
      ps.landing = v.shm;
      ps.landing_in_place = true;
      ps.in_place.push_back(view_memory(v));
    } else if (auto at = take_range(st, ps, view_bytes(v))) {
      v.shm = shm_range{id, *at, view_bytes(v)};
      ps.landing = v.shm;
    }
  }
  return ps;
}

std::optional<failure> take_landed(worker_state& st, const part_shm& ps, const part_range& p,
                                   const part_result& r, running_op& run) {
  if (ps.landing.empty() || !r.ok || !r.value.is_none())
    return std::nullopt;
  if (ps.landing_in_place) {  // the shard wrote it into the output itself
    run.wire_in += ps.landing.bytes;
    run.shm_bytes += ps.landing.bytes;
    run.shm_in_place_bytes += ps.landing.bytes;
    return failure{};
  }
  return capture([&] {
    const auto* src = st.opts.shm->base() + ps.landing.offset;
    for (auto& o : run.op->landing) {
      auto width = size_of(o.dtype());
      if (o.storage() != storage::dense || p.count * width != ps.landing.bytes ||
          p.offset + p.count > o.size())
        throw kvs::error(errc::invalid_argument, "a pulled value in shared memory does not fit " +
                                                     describe(o));
      cuda_or_memcpy(static_cast<char*>(ndarray_access::raw(o)) + p.offset * width, o.device(),
                     src, cpu(), ps.landing.bytes);
      run.wire_in += ps.landing.bytes;
      run.shm_bytes += ps.landing.bytes;
    }
  });
}

void give_back(worker_state& st, part_shm& ps) {
  for (auto at : ps.taken)
    st.shm_free->give_back(at);
  ps.taken.clear();
  ps.landing = shm_range{};
  ps.landing_in_place = false;
  ps.in_place.clear();
}

part_shm::~part_shm() {
  if (!in_place.empty())
    warn_kept_out(keep_out(*this));
}

uint64_t keep_out(part_shm& ps) {
  uint64_t bytes = 0;
  for (auto* p : ps.in_place)
    bytes += shm_arena::instance().keep_out(p);
  ps.in_place.clear();
  return bytes;
}

void warn_kept_out(uint64_t bytes) {
  if (bytes > 0)
    log::warn("kvs worker: " + std::to_string(bytes) +
              " bytes of the shared memory arena are kept out of use for good: a request "
              "that named them timed out or lost its server, which may still read or write "
              "them");
}

}  // namespace kvs::detail
