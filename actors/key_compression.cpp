// The shard's step matching the worker's compression stage
// (docs/compression.md): a packed push is summed as it is unpacked, straight
// into the round's buffer, when its round completes, with the round's other
// packed pushes in one pass (or, with several inputs or a GPU, unpacked and
// then summed as a plain push); with compressed pulls, what is sent back to
// each worker is packed with the shard's own residual for that key and
// worker, once per sum for all workers whose residuals are equal.
#include <algorithm>
#include <utility>

#include "actors/key_shard_state.hpp"
#include "core/array_impl.hpp"

namespace kvs::detail {

namespace {

[[noreturn]] void refuse(const key_entry& e, const std::string& why) {
  throw kvs::error(errc::invalid_argument, "a compressed push of " + key_name(e) + ": " + why);
}

}  // namespace

void check_packed(const shard_state& st, const key_entry& e, const part_request& m) {
  auto c = static_cast<codec>(m.codec);
  if (c != st.compression.type)
    refuse(e, std::string("packed with codec ") + std::to_string(m.codec) + ", but this shard was " +
                  "told \"" + codec_name(st.compression.type) +
                  "\" (set_gradient_compression, server command 4)");
  if (e.stored.dtype() != dtype::f32)
    refuse(e, "only float32 keys are compressed");
  auto n = e.stored.size();
  for (auto& v : m.inputs) {
    bool whole = v.offset == 0 && v.count == v.array.size();
    if (!whole || v.array.dtype() != dtype::u8 || v.array.size() != packed_bytes(c, n))
      refuse(e, "an input of " + std::to_string(v.count) + " elements; " + codec_name(c) +
                    " packs " + std::to_string(n) + " values into " +
                    std::to_string(packed_bytes(c, n)) + " bytes");
  }
}

bool sums_packed(const key_entry& e, const part_request& m) {
  // One input: summing it alone gives sum_range's floats (dest = v or
  // dest += v); several are unpacked first, to be summed in its order.
  return m.inputs.size() == 1 && !on_gpu(m.inputs[0].array) && !on_gpu(e.stored);
}

void sum_packed(const shard_state& st, const reduce_job& job) {
  auto& in = job.inputs.at(0);
  auto& d = job.dest;
  auto* bytes = static_cast<const uint8_t*>(ndarray_access::raw(in.array));
  auto* out = static_cast<float*>(ndarray_access::raw(d.array)) + d.offset;
  auto& c = st.compression;
  if (job.accumulate)
    decompress_add(c.type, bytes, d.count, c.threshold, out);
  else
    decompress(c.type, bytes, d.count, c.threshold, out);
}

bool holds_packed(const shard_state& st, const key_entry& e, bool direct) {
  return !direct && (e.packed_held.empty() || (e.packed_codec == static_cast<uint8_t>(st.compression.type) &&
                                               e.packed_threshold == st.compression.threshold));
}

void hold_packed(const shard_state& st, key_entry& e, const part_request& m) {
  if (e.packed_held.empty()) {
    e.packed_add = !e.pushed.empty();
    e.packed_codec = static_cast<uint8_t>(st.compression.type);
    e.packed_threshold = st.compression.threshold;
  }
  e.packed_held.push_back(m.inputs.at(0).array);
}

bool held_full(const key_entry& e, const part_request& m) {
  size_t bytes = m.inputs.at(0).array.size();  // u8: one element a byte (check_packed)
  for (auto& a : e.packed_held)
    bytes += a.size();
  return bytes > e.stored.size() * sizeof(float);
}

void unpack_push(const shard_state& st, const key_entry& e, part_request& m) {
  auto c = static_cast<codec>(m.codec);
  auto n = e.stored.size();
  std::vector<array_view> plain;
  for (auto& v : m.inputs) {
    auto host = on_gpu(v.array) ? v.array.copy_to(cpu()) : v.array;
    auto out = make_uninitialized(e.stored.shape(), dtype::f32, cpu());
    decompress(c, static_cast<const uint8_t*>(ndarray_access::raw(host)), n,
               st.compression.threshold, static_cast<float*>(ndarray_access::raw(out)));
    if (on_gpu(e.stored))
      out = out.copy_to(e.stored.device());
    plain.push_back(array_view::whole(out));
  }
  m.inputs = std::move(plain);
  m.codec = 0;
}

namespace {

bool same_array(const ndarray& a, const ndarray& b) {
  if (a.is_none() || b.is_none())
    return a.is_none() && b.is_none();
  return ndarray_access::raw(a) == ndarray_access::raw(b);
}

// How many workers have `r` as their residual.
size_t holders(const key_entry& e, const ndarray& r) {
  return static_cast<size_t>(std::count_if(e.pull_residuals.begin(), e.pull_residuals.end(),
                                           [&](const auto& w) { return same_array(w.second, r); }));
}

float* floats(const ndarray& a) { return static_cast<float*>(ndarray_access::raw(a)); }

// The packing of the current sum for `worker`: the residual it is packed
// from, the one it leaves (none for fp16), and the bytes.
struct packing {
  ndarray from, next, bytes;
};

packing start_packing(const shard_state& st, key_entry& e, int32_t worker) {
  auto& c = st.compression;
  // Room for what finish_packing records, made before the residual may be
  // written in place: recording it then cannot fail (an empty answer is
  // no answer: pack_answer packs afresh).
  e.pull_packings.reserve(e.pull_packings.size() + 1);
  e.pull_packed.try_emplace(worker);
  auto& r = e.pull_residuals[worker];  // none until the worker's first packed pull
  packing p{r, ndarray(),
            make_uninitialized({static_cast<int64_t>(packed_bytes(c.type, e.stored.size()))},
                               dtype::u8, cpu())};
  if (c.type == codec::fp16)  // no residual
    return p;
  // A residual only this worker holds is updated in place; a shared one
  // stays as it is for the workers that have not pulled this sum yet.
  if (r.is_none())
    p.next = ndarray::zeros(e.stored.shape(), dtype::f32, cpu());
  else if (holders(e, r) == 1)
    p.next = r;
  else if (!e.pull_spare.is_none())
    p.next = std::exchange(e.pull_spare, ndarray());
  else
    p.next = make_uninitialized(e.stored.shape(), dtype::f32, cpu());
  return p;
}

const float* from_of(const packing& p) {
  if (p.next.is_none())
    return nullptr;  // fp16
  return floats(p.from.is_none() ? p.next : p.from);  // none: the zeros of next
}

// Records a packing made: allocates nothing (start_packing made room), so
// it cannot fail once the residual is written.
ndarray finish_packing(key_entry& e, int32_t worker, const packing& p) {
  e.pull_residuals[worker] = p.next;
  e.pull_packings.push_back({p.from, p.next, p.bytes});
  return e.pull_packed[worker] = p.bytes;
}

uint8_t* bytes_of(const packing& p) { return static_cast<uint8_t*>(ndarray_access::raw(p.bytes)); }

}  // namespace

ndarray pack_answer(const shard_state& st, key_entry& e, int32_t worker) {
  if (auto it = e.pull_packed.find(worker); it != e.pull_packed.end() && !it->second.is_none())
    return it->second;  // this sum was sent to this worker already
  auto& c = st.compression;
  auto& r = e.pull_residuals[worker];
  for (auto& p : e.pull_packings)
    if (c.type == codec::fp16 || same_array(p.from, r)) {  // packed already from this residual
      r = p.next;
      return e.pull_packed[worker] = p.bytes;
    }
  auto host = on_gpu(e.stored) ? e.stored.copy_to(cpu()) : e.stored;
  auto p = start_packing(st, e, worker);
  compress(c.type, static_cast<const float*>(ndarray_access::raw(host)), from_of(p),
           p.next.is_none() ? nullptr : floats(p.next), e.stored.size(), c.threshold, bytes_of(p));
  return finish_packing(e, worker, p);
}

void sum_held(const shard_state& st, key_entry& e, const reduce_job& job,
              std::optional<int32_t> pack_for) {
  std::vector<const uint8_t*> in;
  for (auto& a : e.packed_held)
    in.push_back(static_cast<const uint8_t*>(ndarray_access::raw(a)));
  auto& d = job.dest;
  auto type = static_cast<codec>(e.packed_codec);
  float* sum = floats(d.array) + d.offset;
  auto& c = st.compression;
  bool fuse = pack_for && c.pull && type == c.type && e.packed_threshold == c.threshold &&
              d.offset == 0 && d.count == e.stored.size();
  if (fuse) {  // the sum packed for that worker's pull as it is summed
    auto p = start_packing(st, e, *pack_for);
    decompress_sum_compress(type, in, d.count, e.packed_threshold, sum, job.accumulate, from_of(p),
                            p.next.is_none() ? nullptr : floats(p.next), bytes_of(p));
    finish_packing(e, *pack_for, p);
  } else {
    decompress_sum(type, in, d.count, e.packed_threshold, sum, job.accumulate);
  }
  e.packed_held.clear();
}

last_pull_sum new_pull_sum(key_entry& e) {
  last_pull_sum last{e.summed, std::move(e.pull_packed), std::move(e.pull_packings), e.pull_spare};
  e.pull_packed.clear();  // moved from: made empty
  e.pull_packings.clear();
  for (auto& p : last.packings)  // a residual every worker has left: reused next time
    if (!p.from.is_none() && !same_array(p.from, p.next) && holders(e, p.from) == 0)
      e.pull_spare = p.from;
  return last;
}

void restore_pull_sum(key_entry& e, last_pull_sum last) {
  e.summed = last.summed;
  e.pull_packed = std::move(last.packed);
  e.pull_packings = std::move(last.packings);
  e.pull_spare = std::move(last.spare);
}

failure set_compression(shard_state& st, const std::string& body) {
  return capture([&] {
    auto s = decode_compression(body);
    if (s.pull && st.updater.actor)
      throw kvs::error(errc::invalid_argument,
                       "compressed pulls send back the summed gradient; an optimizer or updater "
                       "runs in this store, so its pulls are weights: not compressed");
    st.compression = s;
    for (auto& [id, e] : st.entries) {
      new_pull_sum(e);
      e.pull_residuals.clear();
      e.pull_spare = ndarray();
    }
  });
}

}  // namespace kvs::detail
