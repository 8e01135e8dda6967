// A shard's side of shared memory (actors/shard_shm.cpp), driven directly:
// which announcements it maps, and every range it is named checked against
// the key and the mapping before it is touched.
#include <catch2/catch.hpp>

#include <cstring>

#include <unistd.h>

#include <caf/all.hpp>

#include "../test_config.hpp"
#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "core/shm_segment.hpp"
#include "shard_driver.hpp"

using namespace kvs;

namespace {

struct shm_shard {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  shard_actor shard;
  caf::scoped_actor self{sys};
  detail::shm_segment seg{1 << 20};

  explicit shm_shard(bool shared_memory = true) {
    shard_options opts;
    opts.num_workers = 1;
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
  // The announcement's answer: empty when the shard mapped it, else its error.
  std::string offer(const shm_announce& a) {
    std::string out = "no answer";
    self->request(shard, std::chrono::seconds(10), shm_atom::value, a)
        .receive([&](ok_atom) { out.clear(); },
                 [&](caf::error& e) { out = from_caf_error(e, "offer").what(); });
    return out;
  }
  // A push of key 5 whose value lies in the segment at `offset`.
  part_result push(uint32_t segment, uint64_t offset, uint64_t count = 4,
                   dtype type = dtype::f32, uint64_t bytes = 16) {
    array_view v{ndarray(), 0, count, true};
    v.shm = shm_range{segment, offset, bytes, {static_cast<int64_t>(count)}, type};
    return ask(self, shard, part_batch{{request(part_op::push, 5, {v})}}).results.at(0);
  }
  std::vector<float> pulled() {
    auto out = ndarray::zeros({4});
    REQUIRE(ask(self, shard, part_batch{{request(part_op::pull, 5, {}, {array_view::whole(out)})}})
                .results.at(0)
                .ok);
    return out.to_vector<float>();
  }
};

}  // namespace

TEST_CASE("a shard sums a push straight from a worker's announced segment", "[server][shm]") {
  shm_shard s;
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  float values[4] = {1, 2, 3, 4.5};
  std::memcpy(s.seg.base() + 128, values, sizeof(values));
  auto r = s.push(7, 128);
  INFO(r.message);
  REQUIRE(r.ok);
  REQUIRE(s.pulled() == std::vector<float>{1, 2, 3, 4.5});
}

TEST_CASE("a shard refuses shared memory ranges that do not fit, before touching them",
          "[server][shm]") {
  shm_shard s;
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  require_failure(s.push(7, s.seg.size() - 8), errc::invalid_argument, {"key 5", "not inside"});
  require_failure(s.push(7, 0), errc::invalid_argument, {"not inside"});
  require_failure(s.push(8, 128), errc::invalid_argument,
                  {"segment 8", "not announced by the node that names it"});
  require_failure(s.push(7, 128, 3, dtype::f32, 12), errc::shape_mismatch,
                  {"key 5", "3 elements", "holds 4"});
  require_failure(s.push(7, 128, 4, dtype::f64, 32), errc::dtype_mismatch, {"key 5", "f64"});
  REQUIRE(s.pulled() == std::vector<float>{0, 0, 0, 0});  // nothing was summed
}

TEST_CASE("a shard maps only a sealed segment holding the announced nonce, once, from its "
          "owner's node",
          "[server][shm]") {
  shm_shard s;
  auto owner = caf::actor_cast<caf::actor>(s.self);
  auto bad = s.announce(7, owner);
  bad.nonce_lo ^= 1;
  REQUIRE(s.offer(bad).find("nonce") != std::string::npos);
  require_failure(s.push(7, 128), errc::invalid_argument, {"not announced"});
  auto wrong_size = s.announce(7, owner);
  wrong_size.size /= 2;
  REQUIRE(s.offer(wrong_size).find("not a sealed segment") != std::string::npos);
  REQUIRE(s.offer(s.announce(7, caf::actor{})).find("owner on another node") != std::string::npos);
  REQUIRE(s.offer(s.announce(7, owner)).empty());
  REQUIRE(s.offer(s.announce(7, owner)).find("already mapped") != std::string::npos);
}

TEST_CASE("a shard with KVS_TRANSPORT=caf takes no shared memory", "[server][shm]") {
  shm_shard s(false);
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).find("KVS_TRANSPORT=caf") !=
          std::string::npos);
}

TEST_CASE("a shard unmaps the segments of an owner that ended", "[server][shm]") {
  shm_shard s;
  auto owner = s.sys.spawn([]() -> caf::behavior { return {[](done_atom) {}}; });
  REQUIRE(s.offer(s.announce(7, owner)).empty());
  float one[4] = {1, 1, 1, 1};
  std::memcpy(s.seg.base() + 128, one, sizeof(one));
  REQUIRE(s.push(7, 128).ok);
  caf::anon_send_exit(owner, caf::exit_reason::kill);
  for (int i = 0; i < 200; ++i) {  // the shard learns of it by a down message
    auto r = s.push(7, 128);
    if (!r.ok) {
      require_failure(r, errc::invalid_argument, {"unmapped"});
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("the segment stayed mapped");
}
