#pragma once
// A key shard driven directly with a worker's shared memory segment
// (actors/shard_shm.cpp): key 5, 4 float32 elements, initialized to zeros.
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "core/shm_segment.hpp"
#include "shard_driver.hpp"

namespace kvs::testing {

struct shm_shard {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  shard_actor shard;
  caf::scoped_actor self{sys};
  detail::shm_segment seg{1 << 20};

  explicit shm_shard(bool shared_memory = true, int32_t workers = 1,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    shard_options opts;
    opts.num_workers = workers;
    opts.request_timeout = timeout;
    opts.shared_memory = shared_memory;
    shard = spawn_key_shard(sys, reducer_set{spawn_cpu_reducer(sys, 1, 1000000), {}}, opts);
    REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 5,
                                                 {array_view::whole(ndarray::zeros({4}))})}})
                .results.at(0)
                .ok);
  }
  shm_announce announce(uint32_t id, caf::actor owner) const {
    return shm_announce{owner, id, getpid(), seg.fd(), seg.size(), seg.nonce().hi, seg.nonce().lo};
  }
  // A shm_atom request's answer: empty when the shard took it, else its error.
  template <class T>
  std::string say(const T& x) {
    std::string out = "no answer";
    self->request(shard, std::chrono::seconds(10), shm_atom::value, x)
        .receive([&](ok_atom) { out.clear(); },
                 [&](caf::error& e) { out = from_caf_error(e, "offer").what(); });
    return out;
  }
  // As a worker offers its segment: the announcement, then the echo of the
  // challenge the shard wrote into it. Empty when the shard bound it.
  std::string offer(const shm_announce& a) {
    auto out = say(a);
    if (!out.empty())
      return out;
    auto c = seg.challenge();
    return say(shm_echo{a.segment, c.hi, c.lo});
  }
  // A part of key 5 whose value lies in the segment at `offset`.
  static array_view in_shm(uint32_t segment, uint64_t offset, uint64_t count = 4,
                           dtype type = dtype::f32, uint64_t bytes = 16) {
    array_view v{ndarray(), 0, count, true};
    v.shm = shm_range{segment, offset, bytes, {static_cast<int64_t>(count)}, type};
    return v;
  }
  part_result push(uint32_t segment, uint64_t offset, uint64_t count = 4,
                   dtype type = dtype::f32, uint64_t bytes = 16) {
    return ask(self, shard,
               part_batch{{request(part_op::push, 5, {in_shm(segment, offset, count, type, bytes)})}})
        .results.at(0);
  }
  void write(uint64_t offset, std::vector<float> values) {
    std::memcpy(seg.base() + offset, values.data(), values.size() * sizeof(float));
  }
  std::vector<float> read(uint64_t offset) {
    std::vector<float> out(4);
    std::memcpy(out.data(), seg.base() + offset, sizeof(float) * 4);
    return out;
  }
  std::vector<float> pulled() {
    auto out = ndarray::zeros({4});
    REQUIRE(ask(self, shard, part_batch{{request(part_op::pull, 5, {}, {array_view::whole(out)})}})
                .results.at(0)
                .ok);
    return out.to_vector<float>();
  }
};

}  // namespace kvs::testing
