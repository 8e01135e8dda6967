// The shard's step matching the worker's compression stage
// (docs/compression.md): packed pushes are unpacked and then summed as plain
// pushes; with compressed pulls, what is sent back to each worker is packed
// with the shard's own residual for that key and worker.
#include "actors/key_shard_state.hpp"
#include "core/array_impl.hpp"

namespace kvs::detail {

namespace {

[[noreturn]] void refuse(const key_entry& e, const std::string& why) {
  throw kvs::error(errc::invalid_argument, "a compressed push of " + key_name(e) + ": " + why);
}

}  // namespace

void unpack_push(const shard_state& st, const key_entry& e, part_request& m) {
  auto c = static_cast<codec>(m.codec);
  if (c != st.compression.type)
    refuse(e, std::string("packed with codec ") + std::to_string(m.codec) + ", but this shard was " +
                  "told \"" + codec_name(st.compression.type) +
                  "\" (set_gradient_compression, server command 4)");
  if (e.stored.dtype() != dtype::f32)
    refuse(e, "only float32 keys are compressed");
  auto n = e.stored.size();
  std::vector<array_view> plain;
  for (auto& v : m.inputs) {
    bool whole = v.offset == 0 && v.count == v.array.size();
    if (!whole || v.array.dtype() != dtype::u8 || v.array.size() != packed_bytes(c, n))
      refuse(e, "an input of " + std::to_string(v.count) + " elements; " + codec_name(c) +
                    " packs " + std::to_string(n) + " values into " +
                    std::to_string(packed_bytes(c, n)) + " bytes");
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

ndarray pack_answer(const shard_state& st, key_entry& e, int32_t worker) {
  if (auto it = e.pull_packed.find(worker); it != e.pull_packed.end())
    return it->second;  // this sum was sent to this worker already
  auto& c = st.compression;
  auto n = e.stored.size();
  auto& r = e.pull_residuals[worker];
  if (r.is_none())
    r = ndarray::zeros(e.stored.shape(), dtype::f32, cpu());
  auto host = on_gpu(e.stored) ? e.stored.copy_to(cpu()) : e.stored;
  auto out = make_uninitialized({static_cast<int64_t>(packed_bytes(c.type, n))}, dtype::u8, cpu());
  compress(c.type, static_cast<const float*>(ndarray_access::raw(host)),
           static_cast<float*>(ndarray_access::raw(r)), n, c.threshold,
           static_cast<uint8_t*>(ndarray_access::raw(out)));
  e.pull_packed[worker] = out;
  return out;
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
      e.pull_residuals.clear();
      e.pull_packed.clear();
    }
  });
}

}  // namespace kvs::detail
