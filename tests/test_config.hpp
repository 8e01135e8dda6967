#pragma once
// Stores for tests: explicit settings, nothing read from the environment.
#include <kvs/kvs.hpp>

inline kvs::config test_config() {
  kvs::config c;
  c.read_environment = false;
  c.scheduler_threads = 2;
  c.request_timeout = std::chrono::milliseconds(10000);
  return c;
}

#define REQUIRE_KVS_ERROR(expr, want)                  \
  do {                                                  \
    try {                                               \
      expr;                                             \
      FAIL("expected kvs::error " << kvs::to_string(want)); \
    } catch (const kvs::error& e) {                     \
      INFO(e.what());                                   \
      REQUIRE(e.code() == (want));                      \
    }                                                   \
  } while (false)
