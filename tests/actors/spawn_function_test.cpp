// spawn_function: function actors without arguments of their own, with and
// without a self pointer, dynamically and statically typed, detached or not.
// Spawned the plain way (sys.spawn(fun)), CAF 0.17 binds a reference to a
// null tuple, which the ASan+UBSan build (docs/security.md) stops here.
#include <catch2/catch.hpp>

#include <chrono>

#include <caf/all.hpp>

#include "actors/spawn_function.hpp"

namespace {

using adder = caf::typed_actor<caf::replies_to<int>::with<int>>;

template <class Handle>
int ask(caf::actor_system& sys, const Handle& dest, int x) {
  caf::scoped_actor self{sys};
  int got = -1;
  self->request(dest, std::chrono::seconds(10), x)
      .receive([&](int r) { got = r; }, [&](caf::error& e) { FAIL(sys.render(e)); });
  return got;
}

}  // namespace

TEST_CASE("spawn_function starts function actors that take no arguments", "[actors]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto plain = kvs::detail::spawn_function(sys, []() -> caf::behavior {
    return {[](int x) { return x + 1; }};
  });
  auto with_self = kvs::detail::spawn_function(sys, [](caf::event_based_actor* self) {
    return caf::behavior{[self](int x) {
      self->quit();
      return x * 2;
    }};
  });
  auto typed = kvs::detail::spawn_function<caf::detached>(sys, []() -> adder::behavior_type {
    return {[](int x) { return x + 10; }};
  });
  auto typed_with_self = kvs::detail::spawn_function(sys, [](adder::pointer self) -> adder::behavior_type {
    return {[self](int x) {
      self->quit();
      return x + 100;
    }};
  });
  REQUIRE(ask(sys, plain, 1) == 2);
  REQUIRE(ask(sys, with_self, 3) == 6);
  REQUIRE(ask(sys, typed, 1) == 11);
  REQUIRE(ask(sys, typed_with_self, 1) == 101);
  caf::anon_send_exit(plain, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(typed, caf::exit_reason::user_shutdown);
}
