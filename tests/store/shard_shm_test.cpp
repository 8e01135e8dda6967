// A shard's side of shared memory (actors/shard_shm.cpp), driven directly:
// which announcements it maps, and every range it is named checked against
// the key and the mapping before it is touched.
#include <catch2/catch.hpp>

#include <cstring>
#include <future>
#include <thread>

#include <unistd.h>

#include <caf/all.hpp>

#include "../test_config.hpp"
#include "shm_shard.hpp"

using namespace kvs;
using kvs::testing::shm_shard;

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

namespace {

// Lets a blocked updater go on at the end of a test, whatever happened.
struct gate {
  std::promise<void> opening;
  std::shared_future<void> opened = opening.get_future().share();
  bool open_done = false;
  void open() {
    if (!open_done)
      opening.set_value();
    open_done = true;
  }
  ~gate() { open(); }
};

}  // namespace

TEST_CASE("a late updater gets the gradient pushed, not what the worker wrote into its range "
          "after the push was answered",
          "[server][shm]") {
  // One worker with an updater: the round's gradient would be the pushed
  // array as it is; from shared memory it must be a copy.
  shm_shard s(true, 1, std::chrono::milliseconds(200));
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  gate g;
  auto opened = g.opened;
  auto slow = s.sys.spawn<caf::detached>([opened]() -> updater_actor::behavior_type {
    return {[opened](update_atom, update_request& r) {
      opened.wait();  // past the shard's deadline: the push is answered first
      auto grad = r.grad.to_vector<float>();
      float* w = r.weight.data<float>();
      for (size_t i = 0; i < grad.size(); ++i)
        w[i] += grad[i];
    }};
  });
  bool set = false;
  s.self->request(s.shard, std::chrono::seconds(10), updater_atom::value,
                  updater_setting{slow, 0, false})
      .receive([&](ok_atom) { set = true; }, [&](caf::error&) {});
  REQUIRE(set);
  s.write(128, {1, 2, 3, 4});
  require_failure(s.push(7, 128), errc::timeout, {"did not answer"});
  s.write(128, {100, 100, 100, 100});  // the worker has the range back: it reuses it
  g.open();
  REQUIRE(s.pulled() == std::vector<float>{1, 2, 3, 4});  // waits for the late update
  caf::anon_send_exit(slow, caf::exit_reason::user_shutdown);
}

TEST_CASE("what a shard summed from a segment stays as it was when the worker rewrites the range "
          "after the answer",
          "[server][shm]") {
  SECTION("one worker, no updater: summed straight into the stored value") {
    shm_shard s;
    REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
    s.write(128, {1, 2, 3, 4});
    REQUIRE(s.push(7, 128).ok);
    s.write(128, {9, 9, 9, 9});
    REQUIRE(s.pulled() == std::vector<float>{1, 2, 3, 4});
  }
  SECTION("two workers: summed into the round's merge buffer") {
    shm_shard s(true, 2);
    REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
    s.write(128, {1, 2, 3, 4});
    auto mine = request(part_op::push, 5, {shm_shard::in_shm(7, 128)});
    auto theirs = request(part_op::push, 5, {array_view::whole(ndarray::full({4}, 10.0))});
    theirs.worker = 1;
    auto r = ask(s.self, s.shard, part_batch{{mine, theirs}});
    REQUIRE(r.results.at(0).ok);
    REQUIRE(r.results.at(1).ok);
    s.write(128, {9, 9, 9, 9});
    REQUIRE(s.pulled() == std::vector<float>{11, 12, 13, 14});
  }
}

TEST_CASE("a shard writes a pull's answer into its landing range and answers without the value",
          "[server][shm]") {
  shm_shard s;
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
  s.write(128, {1, 2, 3, 4});
  REQUIRE(s.push(7, 128).ok);
  auto landing = shm_shard::in_shm(7, 1024);
  landing.carries_data = false;
  auto r = ask(s.self, s.shard, part_batch{{request(part_op::pull, 5, {}, {landing})}}).results.at(0);
  INFO(r.message);
  REQUIRE(r.ok);
  REQUIRE(r.value.is_none());
  REQUIRE(s.read(1024) == std::vector<float>{1, 2, 3, 4});
  // A range off the 64-byte boundary is refused before anything is written.
  auto off = shm_shard::in_shm(7, 2052);
  off.carries_data = false;
  require_failure(ask(s.self, s.shard, part_batch{{request(part_op::pull, 5, {}, {off})}}).results.at(0),
                  errc::invalid_argument, {"not 64-byte aligned"});
  require_failure(s.push(7, 132), errc::invalid_argument, {"not 64-byte aligned"});
}

TEST_CASE("a replayed announcement binds nothing: only the echo of the challenge written into the "
          "segment does",
          "[server][shm]") {
  shm_shard s;
  auto a = s.announce(7, caf::actor_cast<caf::actor>(s.self));
  // Whoever was told {pid, fd, nonce} can announce it: the shard maps it
  // and writes a challenge, but nothing may name the segment yet.
  auto before = s.seg.challenge();
  REQUIRE(s.say(a).empty());
  REQUIRE_FALSE(s.seg.challenge() == before);
  require_failure(s.push(7, 128), errc::invalid_argument, {"not announced"});
  // An announcer that cannot read the segment cannot echo the challenge:
  // refused, and the mapping is dropped (one try).
  REQUIRE(s.say(shm_echo{7, before.hi, before.lo}).find("not the challenge") != std::string::npos);
  auto c = s.seg.challenge();
  REQUIRE(s.say(shm_echo{7, c.hi, c.lo}).find("no announcement") != std::string::npos);
  require_failure(s.push(7, 128), errc::invalid_argument, {"not announced"});
  // The owner, which reads the segment, binds it.
  REQUIRE(s.offer(a).empty());
  s.write(128, {1, 1, 1, 1});
  REQUIRE(s.push(7, 128).ok);
}

namespace {

// Key 6: 8 rows of 4 floats, zeros; its rows are pushed and pulled by id,
// through segment 7, bound.
void init_rows_key(shm_shard& s) {
  REQUIRE(ask(s.self, s.shard,
              part_batch{{request(part_op::init, 6, {array_view::whole(ndarray::zeros({8, 4}))})}})
              .results.at(0)
              .ok);
  REQUIRE(s.offer(s.announce(7, caf::actor_cast<caf::actor>(s.self))).empty());
}

// A row_sparse push of key 6: `ids` with their values in the segment at
// `offset` (`count` elements of `type` there).
part_request rows_push(std::vector<int64_t> ids, uint64_t offset, uint64_t count,
                       dtype type = dtype::f32) {
  auto v = shm_shard::in_shm(7, offset, count, type, count * size_of(type));
  auto r = request(part_op::push, 6, {v});
  r.sparse = true;
  r.rows = std::move(ids);
  return r;
}

// A pull of rows `ids` of key 6 whose answer lands in the segment at `offset`
// (`count` elements).
part_request rows_pull(std::vector<int64_t> ids, uint64_t offset, uint64_t count) {
  auto landing = shm_shard::in_shm(7, offset, count, dtype::f32, count * sizeof(float));
  landing.carries_data = false;
  auto r = request(part_op::pull_rows, 6, {}, {landing});
  r.rows = std::move(ids);
  return r;
}

std::vector<float> pulled_table(shm_shard& s) {
  auto out = ndarray::zeros({8, 4});
  REQUIRE(ask(s.self, s.shard, part_batch{{request(part_op::pull, 6, {}, {array_view::whole(out)})}})
              .results.at(0)
              .ok);
  return out.to_vector<float>();
}

}  // namespace

TEST_CASE("a shard sums a row_sparse push from a worker's segment and writes a pull of rows into "
          "its landing range",
          "[server][shm][row_sparse]") {
  shm_shard s;
  init_rows_key(s);
  s.write(128, {1, 2, 3, 4});
  s.write(144, {5, 6, 7, 8});
  auto r = ask(s.self, s.shard, part_batch{{rows_push({1, 6}, 128, 8)}}).results.at(0);
  INFO(r.message);
  REQUIRE(r.ok);
  s.write(128, {9, 9, 9, 9});  // the range is the worker's again: nothing summed reads it
  auto want = std::vector<float>(32, 0.0f);
  for (int c = 0; c < 4; ++c) {
    want[static_cast<size_t>(4 + c)] = static_cast<float>(1 + c);
    want[static_cast<size_t>(24 + c)] = static_cast<float>(5 + c);
  }
  REQUIRE(pulled_table(s) == want);
  auto p = ask(s.self, s.shard, part_batch{{rows_pull({0, 6}, 1024, 8)}}).results.at(0);
  INFO(p.message);
  REQUIRE(p.ok);
  REQUIRE(p.value.is_none());  // in the range, not in the message
  REQUIRE(s.read(1024) == std::vector<float>{0, 0, 0, 0});
  REQUIRE(s.read(1040) == std::vector<float>{5, 6, 7, 8});
}

TEST_CASE("a shard refuses a row_sparse push or a pull of rows whose range does not hold the rows "
          "it names, before touching it",
          "[server][shm][row_sparse]") {
  shm_shard s;
  init_rows_key(s);
  s.write(128, {1, 1, 1, 1});
  s.write(144, {1, 1, 1, 1});
  auto one = [&](part_request r) { return ask(s.self, s.shard, part_batch{{std::move(r)}}).results.at(0); };
  // Two ids, one row of values.
  require_failure(one(rows_push({1, 6}, 128, 4)), errc::shape_mismatch,
                  {"key 6", "4 elements", "2 row ids name 8"});
  require_failure(one(rows_push({1}, 128, 8)), errc::shape_mismatch, {"1 row ids name 4"});
  // Off the end of the segment, off the boundary, a row id past the key's rows.
  require_failure(one(rows_push({1, 6}, s.seg.size() - 16, 8)), errc::invalid_argument,
                  {"key 6", "not inside"});
  require_failure(one(rows_push({1, 6}, 132, 8)), errc::invalid_argument, {"not 64-byte aligned"});
  require_failure(one(rows_push({1, 8}, 128, 8)), errc::invalid_argument, {"below 8", "got 8"});
  require_failure(one(rows_push({1, 6}, 128, 8, dtype::f64)), errc::dtype_mismatch,
                  {"key 6", "f64"});
  REQUIRE(pulled_table(s) == std::vector<float>(32, 0.0f));  // nothing was summed
  // A landing range for one row, two asked for; one past the segment; a
  // row id past the key's rows: nothing written.
  s.write(1024, {7, 7, 7, 7});
  require_failure(one(rows_pull({0, 6}, 1024, 4)), errc::shape_mismatch, {"2 row ids name 8"});
  require_failure(one(rows_pull({0, 6}, s.seg.size() - 16, 8)), errc::invalid_argument,
                  {"not inside"});
  require_failure(one(rows_pull({0, 9}, 1024, 8)), errc::invalid_argument, {"below 8", "got 9"});
  REQUIRE(s.read(1024) == std::vector<float>{7, 7, 7, 7});
}

TEST_CASE("a late updater that takes rows as they came gets the rows pushed, not what the worker "
          "wrote into its range after the push was answered",
          "[server][shm][row_sparse]") {
  // One worker, an updater that takes rows (as lazy sgd does): the round's
  // gradient would be the pushed rows as they are; from shared memory it
  // must be a copy.
  shm_shard s(true, 1, std::chrono::milliseconds(200));
  init_rows_key(s);
  gate g;
  auto opened = g.opened;
  auto slow = s.sys.spawn<caf::detached>([opened]() -> updater_actor::behavior_type {
    return {[opened](update_atom, update_request& r) {
      opened.wait();  // past the shard's deadline: the push is answered first
      auto ids = r.grad.row_ids();
      auto rows = r.grad.rows().to_vector<float>();
      float* w = r.weight.data<float>();
      for (size_t i = 0; i < ids.size(); ++i)
        for (size_t c = 0; c < 4; ++c)
          w[static_cast<size_t>(ids[i]) * 4 + c] += rows[i * 4 + c];
    }};
  });
  bool set = false;
  s.self->request(s.shard, std::chrono::seconds(10), updater_atom::value,
                  updater_setting{slow, 0, false, true})
      .receive([&](ok_atom) { set = true; }, [&](caf::error&) {});
  REQUIRE(set);
  s.write(128, {1, 2, 3, 4});
  s.write(144, {5, 6, 7, 8});
  auto push = rows_push({1, 6}, 128, 8);
  push.inputs[0].shm.dims = {2, 4};  // the rows as a whole buffer, as one server gets them
  require_failure(ask(s.self, s.shard, part_batch{{push}}).results.at(0), errc::timeout,
                  {"did not answer"});
  s.write(128, {100, 100, 100, 100});  // the worker has the range back: it reuses it
  g.open();
  auto table = pulled_table(s);  // waits for the late update
  REQUIRE(std::vector<float>(table.begin() + 4, table.begin() + 8) == std::vector<float>{1, 2, 3, 4});
  REQUIRE(std::vector<float>(table.begin() + 24, table.begin() + 28) == std::vector<float>{5, 6, 7, 8});
  caf::anon_send_exit(slow, caf::exit_reason::user_shutdown);
}
