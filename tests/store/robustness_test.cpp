// Actors survive errors: what an updater or a reducer job throws fails the
// operation that caused it, with its message, and the same actors serve the
// next operations exactly; an update that answers late never leaves a key
// wedged, nor writes into a failed operation's array.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <new>

#include <caf/all.hpp>

#include "../test_config.hpp"
#include "actors/cpu_reducer.hpp"
#include "core/array_impl.hpp"
#include "messages/errors.hpp"

using namespace kvs;
using namespace std::chrono;

namespace {

std::vector<float> filled(float v) { return std::vector<float>(4, v); }

void add_into(const ndarray& in, ndarray& stored) {
  auto g = in.to_vector<float>();
  float* s = stored.data<float>();
  for (size_t i = 0; i < g.size(); ++i)
    s[i] += g[i];
}

// The elements of `a` as they are in memory (a failed operation's output
// rethrows its error on to_vector).
std::vector<float> raw_values(const ndarray& a) {
  auto* p = static_cast<const float*>(detail::ndarray_access::raw(a));
  return std::vector<float>(p, p + a.size());
}

[[noreturn]] void throw_kind(int kind) {
  if (kind == 0)
    throw std::bad_alloc();
  if (kind == 1)
    throw std::runtime_error("bad gradient");
  throw 42;  // not even a std::exception
}

}  // namespace

TEST_CASE("an updater that throws fails its push with the message, and the same updater, key "
          "and other keys then serve exactly",
          "[store][errors]") {
  const char* said[] = {"bad_alloc", "bad gradient", "not a std::exception"};
  for (int kind = 0; kind < 3; ++kind) {
    INFO("kind " << kind);
    auto kv = create("local", test_config());
    kv->init(1, ndarray::full({4}, 1.0));
    kv->init(2, ndarray::full({4}, 10.0));
    std::atomic<int> calls{0};
    kv->set_updater([&calls, kind](const key&, const ndarray& in, ndarray& stored) {
      if (calls++ == 0)
        throw_kind(kind);
      add_into(in, stored);
    });
    auto out = ndarray::full({4}, -1.0);
    kv->pushpull(1, ndarray::full({4}, 2.0), out);
    require_message([&] { out.wait_to_read(); }, errc::invalid_argument, {"key 1", said[kind]});
    REQUIRE(raw_values(out) == filled(-1.0f));  // a failed round writes no output
    auto a = ndarray::zeros({4});
    kv->push(1, ndarray::full({4}, 3.0));
    kv->pull(1, a);
    REQUIRE(a.to_vector<float>() == filled(4.0f));  // 1 + 3: the failed update left nothing
    auto b = ndarray::zeros({4});
    kv->pushpull(2, ndarray::full({4}, 5.0), b);
    REQUIRE(b.to_vector<float>() == filled(15.0f));
    REQUIRE(calls == 3);
  }
}

TEST_CASE("a CPU reducer answers jobs with views outside their arrays with an error and serves "
          "the next jobs exactly",
          "[server]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto reducer = spawn_cpu_reducer(sys, 2, 4);  // 4 elements and up: sliced over 2 threads
  caf::scoped_actor self{sys};
  auto ask = [&](auto atom, auto job) {
    std::string failed;
    self->request(reducer, seconds(10), atom, std::move(job))
        .receive([](ok_atom) {}, [&](caf::error& e) { failed = from_caf_error(e, "job").what(); });
    return failed;
  };
  auto a = ndarray::full({8}, 1.0), b = ndarray::full({8}, 2.0), dest = ndarray::full({8}, -1.0);
  REQUIRE(ask(reduce_atom::value, reduce_job{{array_view{a, 4, 8}}, array_view::whole(dest), false})
              .find("outside its 8 elements") != std::string::npos);
  REQUIRE(ask(copy_atom::value, copy_job{array_view::whole(a), {array_view{dest, 1, 8}}})
              .find("outside its 8 elements") != std::string::npos);
  auto withdrawn = std::make_shared<job_ticket>();
  REQUIRE(withdrawn->withdraw());
  reduce_job late{{array_view::whole(a)}, array_view::whole(dest), false};
  late.ticket = withdrawn;
  REQUIRE(ask(reduce_atom::value, late).find("withdrawn") != std::string::npos);
  REQUIRE(dest.to_vector<float>() == std::vector<float>(8, -1.0f));  // none of them wrote
  REQUIRE(ask(reduce_atom::value, reduce_job{{array_view::whole(a), array_view::whole(b)},
                                             array_view::whole(dest), false}) == "");
  REQUIRE(dest.to_vector<float>() == std::vector<float>(8, 3.0f));
  auto out = ndarray::zeros({8});
  REQUIRE(ask(copy_atom::value, copy_job{array_view::whole(dest), {array_view::whole(out)}}) == "");
  REQUIRE(out.to_vector<float>() == std::vector<float>(8, 3.0f));
  caf::anon_send_exit(reducer, caf::exit_reason::user_shutdown);
}

TEST_CASE("an update that times out fails its push, the key waits for the late update, then "
          "serves exactly, and the failed pushpull's output is never written",
          "[store][errors][timing]") {
  auto cfg = test_config();
  cfg.request_timeout = milliseconds(600);
  auto kv = create("local", cfg);
  kv->init(1, ndarray::full({4}, 1.0));
  kv->init(2, ndarray::full({4}, 7.0));
  std::promise<void> latch;
  auto opened = latch.get_future().share();
  std::atomic<int> calls{0};
  kv->set_updater([opened, &calls](const key&, const ndarray& in, ndarray& stored) {
    if (calls++ == 0)
      opened.wait();
    add_into(in, stored);
  });
  auto out = ndarray::full({4}, -1.0);
  kv->pushpull(1, ndarray::full({4}, 2.0), out);
  require_message([&] { out.wait_to_read(); }, errc::timeout, {"update of key 1", "may still apply"});
  auto other = ndarray::zeros({4});
  kv->pull(2, other);  // other keys serve meanwhile
  REQUIRE(other.to_vector<float>() == filled(7.0f));
  // A pull of key 1 waits for the late update rather than read under it.
  auto after = ndarray::zeros({4});
  kv->pull(1, after);
  auto reader = std::async(std::launch::async, [after] { return after.to_vector<float>(); });
  REQUIRE(reader.wait_for(milliseconds(100)) == std::future_status::timeout);
  latch.set_value();
  REQUIRE(reader.get() == filled(3.0f));  // 1 + the late update's 2
  kv->push(1, ndarray::full({4}, 4.0));
  kv->pull(1, after);
  REQUIRE(after.to_vector<float>() == filled(7.0f));
  REQUIRE(raw_values(out) == filled(-1.0f));
}

TEST_CASE("operations queued behind an update that never answers fail at their timeout naming "
          "the key, and the key serves again once it answers",
          "[store][errors][timing]") {
  auto cfg = test_config();
  cfg.request_timeout = milliseconds(300);
  auto kv = create("local", cfg);
  kv->init(1, ndarray::full({4}, 1.0));
  std::promise<void> latch;
  auto opened = latch.get_future().share();
  std::atomic<int> calls{0};
  kv->set_updater([opened, &calls](const key&, const ndarray& in, ndarray& stored) {
    if (calls++ == 0)
      opened.wait();
    add_into(in, stored);
  });
  kv->push(1, ndarray::full({4}, 2.0));
  require_message([&] { kv->wait_all(); }, errc::timeout, {"update of key 1"});
  auto t0 = steady_clock::now();
  auto a = ndarray::zeros({4});
  kv->pull(1, a);
  require_message([&] { a.wait_to_read(); }, errc::timeout,
                  {"key 1 still waits for an update that timed out"});
  REQUIRE(steady_clock::now() - t0 < milliseconds(3000));
  latch.set_value();
  // Until the late update's answer is in, a pull may still wait for it.
  auto b = ndarray::zeros({4});
  kv->pull(1, b);
  REQUIRE(b.to_vector<float>() == filled(3.0f));
}
