#pragma once
// Stores for tests: explicit settings, nothing read from the environment.
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <string>

#include <catch2/catch.hpp>
#include <kvs/kvs.hpp>

inline kvs::config test_config() {
  kvs::config c;
  c.read_environment = false;
  c.scheduler_threads = 2;
  c.request_timeout = std::chrono::milliseconds(10000);
  // CTest runs the distributed cases under each transport (tests/CMakeLists.txt).
  if (const char* t = std::getenv("KVS_TRANSPORT"))
    c.transport = t;
  if (const char* b = std::getenv("KVS_SHM_MIN_BYTES"))
    c.shm_min_bytes = std::stoll(b);
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

// `call` throws kvs::error `code` whose message mentions each of `parts`.
inline void require_message(const std::function<void()>& call, kvs::errc code,
                            std::initializer_list<const char*> parts) {
  try {
    call();
    FAIL("expected kvs::error " << kvs::to_string(code));
  } catch (const kvs::error& e) {
    INFO(e.what());
    REQUIRE(e.code() == code);
    for (auto p : parts)
      REQUIRE(std::string(e.what()).find(p) != std::string::npos);
  }
}
