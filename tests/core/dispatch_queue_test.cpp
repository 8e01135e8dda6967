// The dispatch queue on its own: per-key FIFO, priority across keys, the
// operation and byte window, one push per round.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "core/dispatch_queue.hpp"

using kvs::detail::dispatch_limits;
using queue = kvs::detail::dispatch_queue<int>;

namespace {
queue::entry op(kvs::key k, int prio, int id, bool push = false, int64_t bytes = 1) {
  return queue::entry{std::move(k), prio, bytes, push, id};
}
std::vector<int> drain(queue& q) {
  std::vector<int> out;
  while (auto e = q.next())
    out.push_back(e->item);
  return out;
}
}  // namespace

TEST_CASE("higher priority goes first across keys, call order breaks ties", "[dispatch]") {
  queue q;
  q.add(op(1, 0, 10));
  q.add(op(2, 5, 20));
  q.add(op(3, 0, 30));
  q.add(op(4, 5, 40));
  REQUIRE(drain(q) == std::vector<int>{20, 40, 10, 30});
}

TEST_CASE("priority never reorders two operations of one key", "[dispatch]") {
  queue q;
  q.add(op(1, 0, 10));
  q.add(op(1, 9, 11));
  q.add(op(2, 5, 20));
  // 11 outranks everything but must follow 10: only a key's head competes.
  REQUIRE(drain(q) == std::vector<int>{20, 10, 11});
}

TEST_CASE("the window bounds operations and bytes, one big operation goes alone", "[dispatch]") {
  queue q{dispatch_limits{2, 100, false}};
  q.add(op(1, 0, 1, false, 60));
  q.add(op(2, 0, 2, false, 60));
  q.add(op(3, 0, 3, false, 500));
  auto a = q.next();
  REQUIRE(a->item == 1);
  REQUIRE_FALSE(q.next());  // 60 + 60 > 100
  q.done(a->key, a->bytes, a->is_push);
  auto b = q.next();
  REQUIRE(b->item == 2);
  REQUIRE_FALSE(q.next());
  q.done(b->key, b->bytes, b->is_push);
  auto c = q.next();  // bigger than the window, but nothing else is on its way
  REQUIRE(c->item == 3);
  REQUIRE(q.in_flight_bytes() == 500);
}

TEST_CASE("with one push per round a key's next push waits for the last one's answer", "[dispatch]") {
  queue q{dispatch_limits{100, 1 << 20, true}};
  q.add(op(1, 0, 10, true));
  q.add(op(1, 0, 11, false));  // a pull right behind the push may go
  q.add(op(1, 0, 12, true));   // the next push must wait
  q.add(op(2, 0, 20, true));
  // Pushes take no place in the window and go first.
  REQUIRE(drain(q) == std::vector<int>{10, 20, 11});
  q.done(1, 1, false);  // the pull's answer frees nothing for pushes
  REQUIRE_FALSE(q.next());
  q.done(1, 1, true);
  auto e = q.next();
  REQUIRE(e->item == 12);
}

TEST_CASE("randomized: every key's operations come out in call order", "[dispatch]") {
  std::mt19937 rng(7);
  queue q{dispatch_limits{4, 1 << 20, true}};
  std::vector<std::vector<int>> issued(5), started(5);
  std::vector<queue::entry> running;
  int next_id = 0;
  for (int step = 0; step < 5000; ++step) {
    if (rng() % 2 == 0) {
      int k = static_cast<int>(rng() % 5);
      issued[k].push_back(next_id);
      q.add(op(k, static_cast<int>(rng() % 7) - 3, next_id++, rng() % 2 == 0));
    } else if (!running.empty()) {
      auto i = rng() % running.size();
      auto e = running[i];
      running.erase(running.begin() + static_cast<long>(i));
      q.done(e.key, e.bytes, e.is_push);
    }
    while (auto e = q.next()) {
      started[e->key.as_int()].push_back(e->item);
      running.push_back(*e);
    }
  }
  for (int k = 0; k < 5; ++k) {
    INFO("key " << k);
    REQUIRE(std::equal(started[k].begin(), started[k].end(), issued[k].begin()));
  }
}

TEST_CASE("with one push per round pushes pass a full window", "[dispatch]") {
  queue q{dispatch_limits{1, 1 << 20, true}};
  q.add(op(1, 0, 10, false));  // a pull fills the window
  q.add(op(2, 0, 20, true));
  q.add(op(3, 0, 30, false));
  REQUIRE(drain(q) == std::vector<int>{20, 10});  // 30 waits for the pull
  q.done(2, 1, true);
  REQUIRE_FALSE(q.next());
  q.done(1, 1, false);
  REQUIRE(q.next()->item == 30);
}

TEST_CASE("an operation waits for the ones it is blocked by, and holds back its key", "[dispatch]") {
  queue q;
  auto e = op(1, 0, 10);
  e.id = 7;
  q.add(e, 2);
  q.add(op(1, 0, 11));  // behind 10 on key 1
  q.add(op(2, 0, 20));
  REQUIRE(drain(q) == std::vector<int>{20});
  q.release(1, 7);
  REQUIRE_FALSE(q.next());
  q.release(1, 7);
  REQUIRE(drain(q) == std::vector<int>{10, 11});
}
