// The shard's side of the data plane (actors/shard_transfers.hpp), driven
// directly: a pushed part that arrives as a descriptor is read from the
// worker's registered memory, exactly, and in order with the requests
// behind it; descriptors of a worker that never shook hands are refused, as
// are descriptors sent to a shard without a data plane. Skipped (saying so)
// where UCX cannot start.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <numeric>
#include <sstream>

#include <caf/all.hpp>

#include "../test_config.hpp"
#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "actors/part_descriptors.hpp"
#include "shard_driver.hpp"

using namespace kvs;

namespace {

ndarray iota_array(int64_t n, float from) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return ndarray::from_vector<float>(v, {n});
}

// A push of `value` whose bytes travel over the plane (this process sends
// them to itself, as a worker would to its shard).
part_request described_push(detail::ucx_plane& plane, int k, const ndarray& value) {
  auto r = request(part_op::push, k, {array_view::whole(value)});
  auto pulled = detail::describe_for_plane(plane, plane.address(), 0, r, 1);
  REQUIRE(pulled.empty());
  REQUIRE_FALSE(r.inputs[0].remote.empty());
  // As it arrives from another process: no array yet (the shard allocates
  // one once the claim fits the key).
  r.inputs[0].array = ndarray();
  return r;
}

plane_hello hello(caf::scoped_actor& self, const shard_actor& shard, const plane_hello& mine) {
  plane_hello out;
  self->request(shard, std::chrono::seconds(10), plane_atom::value, mine)
      .receive([&](plane_hello& h) { out = std::move(h); }, [&](caf::error&) { FAIL("no answer"); });
  return out;
}

}  // namespace

TEST_CASE("a shard reads pushed parts over the data plane exactly, only from workers that shook "
          "hands",
          "[server][ucx]") {
  std::string why;
  auto plane = detail::ucx_plane::shared(why);
  if (!plane) {
    WARN("skipped: UCX cannot start here: " << why);
    return;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.data_plane = plane;
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  const int64_t n = 300000;
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::zeros({n}))})}})
              .results.at(0)
              .ok);
  auto grad = iota_array(n, 0.25f);
  // Before the handshake: refused, naming why; the key is untouched.
  auto refused = ask(self, shard, part_batch{{described_push(*plane, 1, grad)}});
  INFO(refused.results.at(0).message);
  REQUIRE_FALSE(refused.results.at(0).ok);
  REQUIRE(static_cast<errc>(refused.results.at(0).code) == errc::invalid_argument);
  REQUIRE(refused.results.at(0).message.find("did not shake hands") != std::string::npos);
  // A worker elsewhere that did not opt in to UCX between hosts gets no address.
  auto far = hello(self, shard, plane_hello{"another-host/boot", plane->address(), false});
  REQUIRE(far.address.empty());
  // The handshake from this host: the shard answers with its address.
  auto near = hello(self, shard, plane_hello{plane->host(), plane->address(), false});
  REQUIRE(near.address == plane->address());
  // A claim that does not fit the key is refused before the shard allocates
  // or posts a receive: another element count, a key it does not hold, a
  // part that is not a plain dense push (those travel in the message).
  auto wrong = ask(self, shard, part_batch{{described_push(*plane, 1, iota_array(n / 2, 1))}});
  INFO(wrong.results.at(0).message);
  REQUIRE(static_cast<errc>(wrong.results.at(0).code) == errc::shape_mismatch);
  auto unknown = ask(self, shard, part_batch{{described_push(*plane, 2, grad)}});
  REQUIRE(static_cast<errc>(unknown.results.at(0).code) == errc::key_not_initialized);
  auto packed = described_push(*plane, 1, grad);
  packed.codec = 1;
  auto not_plain = ask(self, shard, part_batch{{packed}});
  INFO(not_plain.results.at(0).message);
  REQUIRE(static_cast<errc>(not_plain.results.at(0).code) == errc::invalid_argument);
  REQUIRE(not_plain.results.at(0).message.find("not a plain dense push") != std::string::npos);
  // A described push, then a pull behind it in the next batch: the pull
  // sees the pushed value (one worker, no updater: stored = the push).
  auto pushed = ask(self, shard, part_batch{{described_push(*plane, 1, grad)}});
  INFO(pushed.results.at(0).message);
  REQUIRE(pushed.results.at(0).ok);
  auto out = ndarray::zeros({n});
  REQUIRE(ask(self, shard, part_batch{{request(part_op::pull, 1, {}, {array_view::whole(out)})}})
              .results.at(0)
              .ok);
  REQUIRE(out.to_vector<float>() == grad.to_vector<float>());
  // Two described pushes and a pull fused in one batch, in order.
  auto grad2 = iota_array(n, -7.0f);
  auto out2 = ndarray::zeros({n});
  auto fused = ask(self, shard,
                   part_batch{{described_push(*plane, 1, grad),
                               described_push(*plane, 1, grad2),
                               request(part_op::pull, 1, {}, {array_view::whole(out2)})}});
  for (auto& r : fused.results) {
    INFO(r.message);
    REQUIRE(r.ok);
  }
  REQUIRE(out2.to_vector<float>() == grad2.to_vector<float>());
}

TEST_CASE("a shard without a data plane refuses descriptors, naming KVS_TRANSPORT",
          "[server][ucx]") {
  std::string why;
  auto plane = detail::ucx_plane::shared(why);
  if (!plane) {
    WARN("skipped: UCX cannot start here: " << why);
    return;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  auto shard = spawn_key_shard(sys, reducers, shard_options{});
  caf::scoped_actor self{sys};
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::zeros({8}))})}})
              .results.at(0)
              .ok);
  REQUIRE(hello(self, shard, plane_hello{plane->host(), plane->address(), false}).address.empty());
  auto r = ask(self, shard, part_batch{{described_push(*plane, 1, iota_array(8, 1))}});
  INFO(r.results.at(0).message);
  REQUIRE_FALSE(r.results.at(0).ok);
  REQUIRE(r.results.at(0).message.find("KVS_TRANSPORT") != std::string::npos);
}

TEST_CASE("a pushed part whose worker process is gone fails with peer_down, and the shard serves "
          "on",
          "[server][ucx]") {
  // The worker is a forked child: it sends two pushed parts over the plane,
  // passes their descriptors, and vanishes when told. Each process starts
  // its plane after the fork (UCX state must not cross one).
  int to_parent[2], to_child[2];
  REQUIRE(pipe(to_parent) == 0);
  REQUIRE(pipe(to_child) == 0);
  const int64_t n = 1 << 20;
  auto put = [](int fd, const std::string& s) {
    uint64_t len = s.size();
    REQUIRE(write(fd, &len, sizeof(len)) == sizeof(len));
    REQUIRE(write(fd, s.data(), len) == static_cast<ssize_t>(len));
  };
  auto get = [](int fd) {
    uint64_t len = 0;
    REQUIRE(read(fd, &len, sizeof(len)) == sizeof(len));
    std::string s(len, '\0');
    size_t got = 0;
    while (got < len) {
      auto r = read(fd, &s[got], len - got);
      REQUIRE(r > 0);
      got += static_cast<size_t>(r);
    }
    return s;
  };
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::string why;
    auto plane = detail::ucx_plane::shared(why);
    if (!plane) {
      put(to_parent[1], "");
      _exit(0);
    }
    put(to_parent[1], plane->address());
    auto shard_address = get(to_child[0]);
    plane->connect(shard_address);
    auto grad = ndarray::full({n}, 3.0);
    for (int i = 0; i < 2; ++i) {
      auto r = request(part_op::push, 1, {array_view::whole(grad)});
      detail::describe_for_plane(*plane, shard_address, 1, r, 1);
      put(to_parent[1], std::to_string(r.inputs[0].remote.tag) + " " +
                            std::to_string(r.inputs[0].remote.bytes));
    }
    char c;
    (void)!read(to_child[0], &c, 1);
    _exit(0);
  }
  auto worker_address = get(to_parent[0]);
  if (worker_address.empty()) {
    waitpid(child, nullptr, 0);
    WARN("skipped: UCX cannot start here");
    return;
  }
  std::string why;
  auto plane = detail::ucx_plane::shared(why);
  REQUIRE(plane);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.data_plane = plane;
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::zeros({n}))})}})
              .results.at(0)
              .ok);
  REQUIRE(hello(self, shard, plane_hello{plane->host(), worker_address, false}).address ==
          plane->address());
  put(to_child[1], plane->address());
  std::vector<remote_region> sent;
  for (int i = 0; i < 2; ++i) {
    std::istringstream in(get(to_parent[0]));
    remote_region d;
    d.owner = worker_address;
    d.dims = {n};  // what the wire tells the shard on arrival
    in >> d.tag >> d.bytes;
    sent.push_back(d);
  }
  auto described = [&](const remote_region& d) {
    auto r = request(part_op::push, 1, {array_view::whole(ndarray::zeros({n}))});
    r.inputs[0].remote = d;
    return r;
  };
  // Alive: the shard receives the child's 3s.
  REQUIRE(ask(self, shard, part_batch{{described(sent[0])}}).results.at(0).ok);
  auto out = ndarray::zeros({n});
  REQUIRE(ask(self, shard, part_batch{{request(part_op::pull, 1, {}, {array_view::whole(out)})}})
              .results.at(0)
              .ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(n, 3.0f));
  // Gone: peer_down, naming the data plane, in bounded time.
  REQUIRE(write(to_child[1], "q", 1) == 1);
  REQUIRE(waitpid(child, nullptr, 0) == child);
  auto lost = ask(self, shard, part_batch{{described(sent[1])}});
  INFO(lost.results.at(0).message);
  REQUIRE_FALSE(lost.results.at(0).ok);
  REQUIRE(static_cast<errc>(lost.results.at(0).code) == errc::peer_down);
  REQUIRE(lost.results.at(0).message.find("data plane") != std::string::npos);
  // The shard serves on: an in-band push and pull are exact.
  REQUIRE(ask(self, shard, part_batch{{request(part_op::push, 1, {array_view::whole(ndarray::full({n}, 5.0))})}})
              .results.at(0)
              .ok);
  REQUIRE(ask(self, shard, part_batch{{request(part_op::pull, 1, {}, {array_view::whole(out)})}})
              .results.at(0)
              .ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(n, 5.0f));
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]})
    close(fd);
}
