// Hostile input across processes (in-process clusters: every message is
// serialized through the middleman): a server refuses an array above its
// receive cap with an error the worker sees, and serves on; the scheduler
// refuses malformed registrations and ranks from a peer, and the job goes on.
#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "../stderr_capture.hpp"
#include "core/network.hpp"
#include "store/network.hpp"
#include "local_cluster.hpp"
#include "messages/cluster_actors.hpp"
#include "messages/errors.hpp"
#include "messages/message_types.hpp"

using namespace kvs;

namespace {

// Servers take arrays of at most 4 KiB; workers send up to 1 MiB a message.
local_cluster capped_cluster() {
  local_cluster cluster{1, 1};
  cluster.settings = [](config& c) {
    c.max_message_bytes = 4096;
    c.max_receive_bytes = 4096;
  };
  return cluster;
}

void worker_settings(config& c) {
  c.max_message_bytes = 1 << 20;
  c.max_receive_bytes = 1 << 30;
}

// The big key fails naming the cap; a small key works exactly after it.
void refused_then_served(kvstore& kv, bool async) {
  expect_error(
      [&] {
        kv.init(1, ndarray::zeros({2048}));  // 8 KiB
        kv.wait_all();
      },
      errc::invalid_argument, {"above the receiving node's cap of 4096 bytes", "KVS_MAX_RECEIVE_BYTES"});
  try {
    kv.wait_all();  // may report the failure above once more
  } catch (const kvs::error&) {
  }
  kv.init(2, ndarray::full({16}, 1.0));
  if (async)
    kv.set_optimizer(create_optimizer("sgd", {{"learning_rate", 1.0}}));
  kv.push(2, ndarray::full({16}, 3.0));
  auto out = ndarray::zeros({16});
  kv.pull(2, out);
  // dist_sync without an optimizer stores the sum (3); dist_async applies
  // sgd with learning rate 1 (1 - 3 = -2).
  EXPECT(out.to_vector<float>() == std::vector<float>(16, async ? -2.0f : 3.0f));
}

// Row ids above the cap (4800 bytes; their values 2400, within it): the
// push and the row_sparse_pull fail naming the cap instead of being dropped
// (the worker would wait out its timeout); the key serves on exactly.
void rows_refused_then_served(kvstore& kv) {
  constexpr int64_t n = 1000, many = 600;
  kv.init(3, ndarray::row_sparse({n, 1}, {0}, ndarray::full({1, 1}, 1.0)));
  std::vector<int64_t> ids(many);
  for (int64_t r = 0; r < many; ++r)
    ids[static_cast<size_t>(r)] = r;
  std::initializer_list<const char*> why = {"key 3", "row ids of 4800 bytes",
                                            "above the receiving node's cap of 4096 bytes"};
  auto drain = [&] {
    try {
      kv.wait_all();  // may report the failure once more
    } catch (const kvs::error&) {
    }
  };
  expect_error(
      [&] {
        kv.push(3, ndarray::row_sparse({n, 1}, ids, ndarray::full({many, 1}, 1.0)));
        kv.wait_all();
      },
      errc::invalid_argument, why);
  drain();
  auto out = ndarray::row_sparse({n, 1}, {}, ndarray::zeros({0, 1}));
  expect_error(
      [&] {
        kv.row_sparse_pull(3, out, ndarray::from_vector<int64_t>(ids, {many}));
        kv.wait_all();
      },
      errc::invalid_argument, why);
  drain();
  // dist_sync without an optimizer stores the round's sum: rows 0 and 7.
  kv.push(3, ndarray::row_sparse({n, 1}, {0, 7}, ndarray::from_vector<float>({2, 5}, {2, 1})));
  kv.row_sparse_pull(3, out, ndarray::from_vector<int64_t>({7, 0}, {2}));
  kv.wait_all();
  EXPECT(out.row_ids() == (std::vector<int64_t>{0, 7}));
  EXPECT(out.rows().to_vector<float>() == (std::vector<float>{2, 5}));
}

}  // namespace

TEST_CASE("a dist_sync server refuses row ids above its receive cap with an error, and serves on",
          "[dist][validation][sparse]") {
  auto cluster = capped_cluster();
  cluster.run("dist_sync", rows_refused_then_served, worker_settings);
}

TEST_CASE("a dist_sync server refuses an array above its receive cap, says so, and serves on",
          "[dist][validation]") {
  stderr_capture err;
  auto cluster = capped_cluster();
  cluster.run("dist_sync", [](kvstore& kv) { refused_then_served(kv, false); }, worker_settings);
  INFO(err.text());
  REQUIRE(err.text().find("key shard refused a request from another process") != std::string::npos);
}

TEST_CASE("a dist_async server refuses an array above its receive cap and serves on",
          "[dist][validation]") {
  auto cluster = capped_cluster();
  cluster.run("dist_async", [](kvstore& kv) { refused_then_served(kv, true); }, worker_settings);
}

TEST_CASE("the scheduler refuses malformed registrations and ranks from a peer, and the job goes on",
          "[dist][validation]") {
  local_cluster cluster{1, 1};
  cluster.run("dist_sync", [&](kvstore& kv) {
    // A peer of its own actor system, talking to the scheduler directly.
    caf::actor_system_config sc;
    detail::configure_network(sc, cluster.node("worker").resolved());
    caf::actor_system sys{sc};
    auto coord = detail::connect<coordinator_actor>(sys, "127.0.0.1", static_cast<uint16_t>(cluster.port),
                                                    std::chrono::seconds(10), "the scheduler");
    caf::scoped_actor self{sys};
    // The error a request gets ("accepted" if it gets its answer).
    auto refused = [&](auto answer, auto... request) {
      std::string why = "no answer";
      self->request(coord, std::chrono::seconds(10), request...)
          .receive([&](decltype(answer)&) { why = "accepted"; },
                   [&](caf::error& e) { why = from_caf_error(e, "request").what(); });
      return why;
    };
    auto barrier = refused(ok_atom::value, barrier_atom::value, int32_t{9});
    EXPECT(barrier.find("barrier: worker rank 9 is not one of the 1 workers") != std::string::npos);
    auto ghost = refused(registration{}, register_atom::value, node_info{"ghost", "127.0.0.1", 1},
                         caf::actor_cast<caf::actor>(self));
    EXPECT(ghost.find("register as worker: the message says role \"ghost\"") != std::string::npos);
    auto bad_host = refused(registration{}, register_atom::value, node_info{"worker", "a b", 0},
                            caf::actor_cast<caf::actor>(self));
    EXPECT(bad_host.find("the host name has the character code 32") != std::string::npos);
    self->send(coord, done_atom::value, int32_t{-5});  // ignored, logged
    // The job goes on: a round, and a barrier of the real worker.
    kv.init(3, ndarray::zeros({4}));
    kv.push(3, ndarray::full({4}, 2.0));
    auto out = ndarray::zeros({4});
    kv.pull(3, out);
    EXPECT(out.to_vector<float>() == std::vector<float>(4, 2.0f));
    kv.barrier();
  });
}
