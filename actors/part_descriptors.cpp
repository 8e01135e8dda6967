#include "actors/part_descriptors.hpp"

#include "core/array_impl.hpp"
#include "core/element.hpp"

namespace kvs::detail {

namespace {

bool goes_by_plane(const array_view& v, uint64_t min_bytes) {
  return !v.array.is_none() && v.array.storage() == storage::dense && !on_gpu(v.array) &&
         v.count * size_of(v.array.dtype()) >= min_bytes;
}

char* first_byte(const array_view& v) {
  return static_cast<char*>(ndarray_access::raw(v.array)) + v.offset * size_of(v.array.dtype());
}

// What the shard accepts over the plane (actors/shard_transfers.cpp): plain
// dense values of a push or pull; init, rows, packed and failed parts stay
// in band.
bool plain_part(const part_request& req) {
  return (req.op == part_op::push || req.op == part_op::pull) && !req.sparse && !req.failed &&
         req.codec == 0 && req.rows.empty();
}

}  // namespace

receipts describe_for_plane(ucx_plane& plane, const std::string& shard_address, int32_t rank,
                            part_request& req, uint64_t min_bytes) {
  receipts out;
  if (!plain_part(req))
    return out;
  for (auto& v : req.inputs) {
    if (!goes_by_plane(v, min_bytes))
      continue;
    uint64_t bytes = v.count * size_of(v.array.dtype());
    auto tag = plane.new_tag(rank);
    // The handle keeps the bytes alive until UCX lets go of them.
    plane.send(shard_address, tag, first_byte(v), bytes, [keep = v.array](failure) {});
    v.remote = remote_region{plane.address(), tag, bytes};
    bool whole = v.offset == 0 && v.count == v.array.size();
    v.remote.dims = whole ? v.array.shape() : kvs::shape{static_cast<int64_t>(v.count)};
    v.remote.type = v.array.dtype();  // as the shard learns them on arrival
  }
  for (auto& v : req.outputs) {
    if (!goes_by_plane(v, min_bytes))
      continue;
    uint64_t bytes = v.count * size_of(v.array.dtype());
    auto tag = plane.new_tag(rank);
    auto r = std::make_shared<plane_receipt>();
    plane.recv(shard_address, tag, first_byte(v), bytes, [r, keep = v.array](failure f) {
      std::lock_guard<std::mutex> lock{r->mtx};
      r->done = true;
      r->outcome = std::move(f);
      r->cv.notify_all();
    });
    v.remote = remote_region{plane.address(), tag, bytes};
    out.push_back(std::move(r));
  }
  return out;
}

failure await_receipts(const receipts& rs, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (auto& r : rs) {
    std::unique_lock<std::mutex> lock{r->mtx};
    if (!r->cv.wait_until(lock, until, [&] { return r->done; }))
      return kvs::error(errc::timeout, "data plane: a pulled value did not arrive within " +
                                           std::to_string(limit.count()) + " ms of its answer");
    if (r->outcome)
      return r->outcome;
  }
  return std::nullopt;
}

}  // namespace kvs::detail
