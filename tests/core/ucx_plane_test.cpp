// The UCX data plane on its own (core/ucx_plane.hpp): tagged messages,
// exact, each to the receive of its tag; a peer process that is gone ends a
// receive expected from it in peer_down, in bounded time, never a hang. Skipped (saying so) where UCX
// cannot start.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <numeric>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/ucx_plane.hpp"

using kvs::detail::ucx_plane;

namespace {

using outcome = std::optional<kvs::error>;

// Runs one transfer and waits (bounded) for its completion callback.
outcome wait_for(const std::function<void(ucx_plane::done_fn)>& start) {
  auto done = std::make_shared<std::promise<outcome>>();
  auto f = done->get_future();
  start([done](outcome o) { done->set_value(std::move(o)); });
  REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return f.get();
}

std::shared_ptr<ucx_plane> plane_or_skip() {
  std::string why;
  auto plane = ucx_plane::shared(why);
  if (!plane)
    WARN("skipped: UCX cannot start here: " << why);
  return plane;
}

// Writes a string with its length to a pipe; reads one back.
void send_text(int fd, const std::string& s) {
  uint64_t n = s.size();
  REQUIRE(write(fd, &n, sizeof(n)) == sizeof(n));
  REQUIRE(write(fd, s.data(), n) == static_cast<ssize_t>(n));
}
std::string read_text(int fd) {
  uint64_t n = 0;
  REQUIRE(read(fd, &n, sizeof(n)) == sizeof(n));
  std::string s(n, '\0');
  size_t got = 0;
  while (got < n) {
    auto r = read(fd, &s[got], n - got);
    REQUIRE(r > 0);
    got += static_cast<size_t>(r);
  }
  return s;
}

}  // namespace

TEST_CASE("the data plane moves tagged messages exactly, each to its own receive", "[ucx]") {
  auto plane = plane_or_skip();
  if (!plane)
    return;
  plane->connect(plane->address());
  std::vector<float> a(1 << 20), b(1000);
  std::iota(a.begin(), a.end(), 0.5f);
  std::iota(b.begin(), b.end(), -3.0f);
  std::vector<float> got_a(a.size(), -1.0f), got_b(b.size(), -1.0f);
  auto ta = plane->new_tag(1), tb = plane->new_tag(1);
  REQUIRE(ta != tb);
  REQUIRE(plane->new_tag(2) >> 44 == 2);  // the rank keeps workers' tags apart
  // b's receive is posted first, a's message is sent first: tags match them up.
  auto rb = std::make_shared<std::promise<outcome>>();
  plane->recv(plane->address(), tb, got_b.data(), got_b.size() * sizeof(float),
              [rb](outcome o) { rb->set_value(std::move(o)); });
  auto ra = std::make_shared<std::promise<outcome>>();
  auto sent = wait_for([&](ucx_plane::done_fn done) {
    plane->send(plane->address(), ta, a.data(), a.size() * sizeof(float), std::move(done));
    plane->recv(plane->address(), ta, got_a.data(), got_a.size() * sizeof(float),
                [ra](outcome o) { ra->set_value(std::move(o)); });
  });
  REQUIRE_FALSE(sent.has_value());
  auto fa = ra->get_future();
  REQUIRE(fa.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  REQUIRE_FALSE(fa.get().has_value());
  REQUIRE(got_a == a);
  auto sent_b = wait_for([&](ucx_plane::done_fn done) {
    plane->send(plane->address(), tb, b.data(), b.size() * sizeof(float), std::move(done));
  });
  REQUIRE_FALSE(sent_b.has_value());
  auto fb = rb->get_future();
  REQUIRE(fb.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  REQUIRE_FALSE(fb.get().has_value());
  REQUIRE(got_b == b);
}

TEST_CASE("a data plane receive from a process that is gone fails with peer_down", "[ucx]") {
  // The child sends one message and exits when told; the parent starts its
  // plane only after the fork (UCX state must not cross one).
  int to_parent[2], to_child[2];
  REQUIRE(pipe(to_parent) == 0);
  REQUIRE(pipe(to_child) == 0);
  const size_t n = 4 << 20;
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::string why;
    auto plane = ucx_plane::shared(why);
    if (!plane) {
      send_text(to_parent[1], "");
      _exit(0);
    }
    send_text(to_parent[1], plane->address());
    auto parent = read_text(to_child[0]);
    std::vector<char> buf(n, 'x');
    plane->send(parent, 7, buf.data(), n, [](outcome) {});
    char c;
    (void)!read(to_child[0], &c, 1);
    _exit(0);  // no goodbye: the peer just vanishes
  }
  auto peer = read_text(to_parent[0]);
  if (peer.empty()) {
    waitpid(child, nullptr, 0);
    WARN("skipped: UCX cannot start here");
    return;
  }
  auto plane = plane_or_skip();
  if (!plane)
    return;
  plane->connect(peer);
  send_text(to_child[1], plane->address());
  std::vector<char> mine(n, '.');
  // Alive: the message arrives, exact.
  auto first = wait_for([&](ucx_plane::done_fn done) {
    plane->recv(peer, 7, mine.data(), mine.size(), std::move(done));
  });
  REQUIRE_FALSE(first.has_value());
  REQUIRE(mine == std::vector<char>(n, 'x'));
  // Gone: a receive expected from it fails, naming the data plane, in bounded time.
  REQUIRE(write(to_child[1], "q", 1) == 1);
  REQUIRE(waitpid(child, nullptr, 0) == child);
  auto second = wait_for([&](ucx_plane::done_fn done) {
    plane->recv(peer, 8, mine.data(), mine.size(), std::move(done));
  });
  REQUIRE(second.has_value());
  INFO(second->what());
  REQUIRE(second->code() == kvs::errc::peer_down);
  REQUIRE(std::string(second->what()).find("data plane") != std::string::npos);
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]})
    close(fd);
}
