// How a part request travels (messages/shard_actor.hpp). Two forms, the
// sender's choice: full (every field, each through CAF's serializer) or
// compact: a plain push or pull of an integer key whose values lie in the
// worker's shared memory (every part of a batch of small keys between
// processes on one host) is one block of bytes, its fields at fixed places.
// CAF's call per field (and per view's field) was most of the cost of
// writing and reading a batch of 500 such parts (docs/benchmarks.md, "Small
// messages"). A compact request is read back with the checks the full form's
// views get (check_shm_range, the shape against the element count).
#include <cstring>

#include "core/array_impl.hpp"
#include "messages/errors.hpp"
#include "messages/shard_actor.hpp"
#include "serialization/receive_limit.hpp"

namespace kvs {

namespace {

constexpr uint8_t full_form = 0, compact_form = 1;
constexpr size_t most_dims = 4;  // a pushed value's rank, in the compact form
// op, key, part, worker, number of inputs, number of outputs
constexpr size_t head_bytes = 1 + 8 + 4 + 4 + 1 + 1;
// dtype, elements, segment, offset, bytes
constexpr size_t range_bytes = 1 + 8 + 4 + 8 + 8;
// a range, the rank, the dims (unused ones 0)
constexpr size_t input_bytes = range_bytes + 1 + 8 * most_dims;

// Host byte order: the compact form names shared memory ranges, which only
// a process on this host can use (a compact request from another host is
// refused by the shard as naming a segment its node did not announce).
class block_writer {
public:
  explicit block_writer(uint8_t* at) : at_(at) {}
  template <class T>
  void put(T v) {
    std::memcpy(at_, &v, sizeof(T));
    at_ += sizeof(T);
  }
  uint8_t* at() const { return at_; }

private:
  uint8_t* at_;
};

class block_reader {
public:
  explicit block_reader(const uint8_t* at) : at_(at) {}
  template <class T>
  T take() {
    T v;
    std::memcpy(&v, at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }

private:
  const uint8_t* at_;
};

bool compact_view(const array_view& v, bool input) {
  if (v.shm.empty() || v.carries_data != input || !v.refused.empty() || v.array.is_none() ||
      v.array.storage() != storage::dense)
    return false;
  return !input || !v.covers_array() || v.array.shape().size() <= most_dims;
}

bool is_compact(const part_request& x) {
  if ((x.op != part_op::push && x.op != part_op::pull) || !x.id.key.is_int() || x.sparse ||
      !x.rows.empty() || x.row_len != 0 || x.on_gpu || x.gpu_id != 0 || x.failed ||
      x.failed_code != 0 || !x.failed_why.empty() || x.codec != 0 || x.inputs.size() > 1 ||
      x.outputs.size() > 1)
    return false;
  for (auto& v : x.inputs)
    if (!compact_view(v, true))
      return false;
  for (auto& v : x.outputs)
    if (!compact_view(v, false))
      return false;
  return true;
}

void put_range(block_writer& w, const array_view& v) {
  w.put(static_cast<uint8_t>(v.array.dtype()));
  w.put<uint64_t>(v.count);
  w.put<uint32_t>(v.shm.segment);
  w.put<uint64_t>(v.shm.offset);
  w.put<uint64_t>(v.shm.bytes);
}

caf::error save_compact(caf::serializer& sink, const part_request& x) {
  uint8_t block[head_bytes + input_bytes + range_bytes];
  block_writer w{block};
  w.put(static_cast<uint8_t>(x.op));
  w.put<int64_t>(x.id.key.as_int());
  w.put<uint32_t>(x.id.part);
  w.put<int32_t>(x.worker);
  w.put(static_cast<uint8_t>(x.inputs.size()));
  w.put(static_cast<uint8_t>(x.outputs.size()));
  for (auto& v : x.inputs) {
    put_range(w, v);
    // As save_view: the array's shape when the view is all of it, else flat.
    bool whole = v.covers_array();
    auto rank = whole ? v.array.shape().size() : 1;
    w.put(static_cast<uint8_t>(rank));
    for (size_t i = 0; i < most_dims; ++i)
      w.put<int64_t>(i >= rank ? 0 : whole ? v.array.shape()[i] : static_cast<int64_t>(v.count));
  }
  for (auto& v : x.outputs)
    put_range(w, v);
  return sink.apply_raw(static_cast<size_t>(w.at() - block), block);
}

// A view of a compact request, as load_view leaves a view whose bytes lie
// in shared memory: no array until the shard resolves the range.
caf::error take_view(block_reader& r, array_view& v, bool input) {
  auto t = r.take<uint8_t>();
  v.count = r.take<uint64_t>();
  v.shm.segment = r.take<uint32_t>();
  v.shm.offset = r.take<uint64_t>();
  v.shm.bytes = r.take<uint64_t>();
  v.carries_data = input;
  if (auto err = check_dtype_code(t, "part request"))
    return err;
  if (auto err = check_shm_range(v, static_cast<dtype>(t)))
    return err;
  if (!input)
    return {};
  auto rank = r.take<uint8_t>();
  if (rank > most_dims)
    return to_caf_error(errc::corrupt_file, "part request: a value of rank " +
                                                std::to_string(rank) + " in the compact form");
  kvs::shape dims(rank);
  for (size_t i = 0; i < most_dims; ++i) {
    auto d = r.take<int64_t>();
    if (i < rank)
      dims[i] = d;
  }
  if (auto err = check_dims(dims, v.count, "part request"))
    return err;
  v.shm.dims = std::move(dims);
  return {};
}

caf::error load_compact(caf::deserializer& source, part_request& x) {
  uint8_t head[head_bytes];
  if (auto err = source.apply_raw(head_bytes, head))
    return err;
  block_reader h{head};
  auto op = h.take<uint8_t>();
  if (op != static_cast<uint8_t>(part_op::push) && op != static_cast<uint8_t>(part_op::pull))
    return to_caf_error(errc::corrupt_file, "part request: operation " + std::to_string(op) +
                                                " in the compact form (only push and pull)");
  x.op = static_cast<part_op>(op);
  x.id.key = kvs::key(h.take<int64_t>());
  x.id.part = h.take<uint32_t>();
  x.worker = h.take<int32_t>();
  auto inputs = h.take<uint8_t>(), outputs = h.take<uint8_t>();
  if (inputs > 1 || outputs > 1)
    return to_caf_error(errc::corrupt_file, "part request: " + std::to_string(inputs) +
                                                " inputs and " + std::to_string(outputs) +
                                                " outputs in the compact form (at most one each)");
  uint8_t rest[input_bytes + range_bytes];
  if (auto err = source.apply_raw(inputs * input_bytes + outputs * range_bytes, rest))
    return err;
  block_reader r{rest};
  x.inputs.resize(inputs);
  x.outputs.resize(outputs);
  for (auto& v : x.inputs)
    if (auto err = take_view(r, v, true))
      return err;
  for (auto& v : x.outputs)
    if (auto err = take_view(r, v, false))
      return err;
  return {};
}

}  // namespace

caf::error save_request(caf::serializer& sink, part_request& x) {
  uint8_t form = is_compact(x) ? compact_form : full_form;
  if (auto err = sink(form))
    return err;
  if (form == compact_form)
    return save_compact(sink, x);
  row_id_block rows{&x.rows};  // one block of ids (messages/shard_actor.hpp)
  return sink(x.op, x.id, x.worker, x.inputs, x.outputs, x.sparse, rows, x.row_len, x.on_gpu,
              x.gpu_id, x.failed, x.failed_code, x.failed_why, x.codec);
}

caf::error load_request(caf::deserializer& source, part_request& x) {
  x = part_request{};
  uint8_t form = 0;
  if (auto err = source(form))
    return err;
  if (form == compact_form)
    return detail::refused(source, load_compact(source, x));
  if (form != full_form)
    return detail::refused(source, to_caf_error(errc::corrupt_file,
                                                "part request: unknown form " + std::to_string(form)));
  row_id_block rows{&x.rows, &x.rows_refused};  // one block of ids (messages/shard_actor.hpp)
  return source(x.op, x.id, x.worker, x.inputs, x.outputs, x.sparse, rows, x.row_len, x.on_gpu,
                x.gpu_id, x.failed, x.failed_code, x.failed_why, x.codec);
}

}  // namespace kvs
