#pragma once
// The worker's side of the data plane (docs/distributed.md, "Two planes"):
// a big part bound for a shard that shook hands travels as descriptors
// instead of bytes. A pushed range is sent as a tagged UCX message straight
// from the array the worker sends (above UCX's rendezvous threshold the
// shard reads it from there); a pulled value arrives straight in the landing
// array, where a receive waits for it from the moment the request leaves.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/ucx_plane.hpp"
#include "messages/errors.hpp"
#include "messages/shard_actor.hpp"

namespace kvs::detail {

// A receive of a pulled value, done or not.
struct plane_receipt {
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;
  failure outcome;
};
using receipts = std::vector<std::shared_ptr<plane_receipt>>;

// Sends (and posts receives for) `req`'s host views of at least `min_bytes`
// over the plane to the shard at `shard_address`, replacing their bytes by
// descriptors; returns the receives. A GPU view stays in band, and so do
// parts that are not plain dense values of a push or pull (init, rows,
// packed, failed).
receipts describe_for_plane(ucx_plane& plane, const std::string& shard_address, int32_t rank,
                            part_request& req, uint64_t min_bytes);

// Waits for the receives (they end when the shard's send does, which it
// finishes before it answers), at most `limit`: their first failure.
failure await_receipts(const receipts& rs, std::chrono::milliseconds limit);

}  // namespace kvs::detail
