#include <catch2/catch.hpp>

#include <cstdlib>

#include "../test_config.hpp"

using namespace kvs;

TEST_CASE("resolved fills unset fields with MXNet's defaults", "[config]") {
  config c;
  c.read_environment = false;
  auto r = c.resolved();
  REQUIRE(r.bigarray_bound == 1000000);
  REQUIRE(r.reduction_threads == 4);
  REQUIRE(r.local_shards == 4);
  REQUIRE(r.max_inflight == 1024);
  REQUIRE(r.max_inflight_bytes == (int64_t{128} << 20));
  REQUIRE(r.max_message_bytes == (int64_t{16} << 20));
  REQUIRE(r.node_host == "127.0.0.1");
  REQUIRE(r.inline_bound == 16384);
  REQUIRE(r.scheduler_threads >= 1);
  REQUIRE(r.request_timeout == std::chrono::milliseconds(30000));
}

TEST_CASE("explicit fields win and bad values are refused by name", "[config]") {
  config c;
  c.read_environment = false;
  c.local_shards = 7;
  REQUIRE(c.resolved().local_shards == 7);
  c.max_inflight = -2;
  try {
    (void)c.resolved();
    FAIL("expected invalid_config");
  } catch (const kvs::error& e) {
    REQUIRE(e.code() == errc::invalid_config);
    REQUIRE(std::string(e.what()).find("max_inflight") != std::string::npos);
  }
}

TEST_CASE("a malformed environment variable is an error naming it", "[config]") {
  // The one test that sets a variable: it checks the strict parser itself.
  ::setenv("MXNET_KVSTORE_REDUCTION_NTHREADS", "4x", 1);
  config c;
  try {
    (void)c.resolved();
    ::unsetenv("MXNET_KVSTORE_REDUCTION_NTHREADS");
    FAIL("expected invalid_config");
  } catch (const kvs::error& e) {
    ::unsetenv("MXNET_KVSTORE_REDUCTION_NTHREADS");
    REQUIRE(e.code() == errc::invalid_config);
    REQUIRE(std::string(e.what()).find("MXNET_KVSTORE_REDUCTION_NTHREADS='4x'") != std::string::npos);
  }
  ::setenv("MXNET_KVSTORE_REDUCTION_NTHREADS", "3", 1);
  auto r = config{}.resolved();
  ::unsetenv("MXNET_KVSTORE_REDUCTION_NTHREADS");
  REQUIRE(r.reduction_threads == 3);
}

TEST_CASE("an interface name resolves to its address, an unknown one is refused by name",
          "[config]") {
  config c;
  c.read_environment = false;
  c.interface = "lo";
  REQUIRE(c.resolved().node_host == "127.0.0.1");
  c.interface = "no-such-if0";
  try {
    (void)c.resolved();
    FAIL("expected invalid_config");
  } catch (const kvs::error& e) {
    REQUIRE(e.code() == errc::invalid_config);
    REQUIRE(std::string(e.what()).find("DMLC_INTERFACE='no-such-if0'") != std::string::npos);
  }
  c.interface = "no-such-if0";
  c.node_host = "10.1.2.3";  // an explicit host wins over the interface
  REQUIRE(c.resolved().node_host == "10.1.2.3");
}

TEST_CASE("bounded waits default from the request timeout, and their variables parse strictly",
          "[config]") {
  config c;
  c.read_environment = false;
  c.request_timeout = std::chrono::milliseconds(2000);
  auto r = c.resolved();
  REQUIRE(r.startup_timeout == std::chrono::milliseconds(2000));
  REQUIRE(r.barrier_timeout == std::chrono::milliseconds(20000));
  REQUIRE(r.stall_warning == std::chrono::milliseconds(60000));
  c.stall_warning = std::chrono::milliseconds(-1);
  require_message([&] { (void)c.resolved(); }, errc::invalid_config, {"stall_warning"});

  ::setenv("KVS_STALL_WARNING", "7", 1);
  ::setenv("KVS_STARTUP_TIMEOUT", "1500", 1);
  ::setenv("KVS_BARRIER_TIMEOUT", "2500", 1);
  r = config{}.resolved();
  ::setenv("KVS_STALL_WARNING", "1m", 1);
  std::string refused;
  try {
    (void)config{}.resolved();
  } catch (const kvs::error& e) {
    refused = e.what();
  }
  ::unsetenv("KVS_STALL_WARNING");
  ::unsetenv("KVS_STARTUP_TIMEOUT");
  ::unsetenv("KVS_BARRIER_TIMEOUT");
  REQUIRE(r.stall_warning == std::chrono::seconds(7));
  REQUIRE(r.startup_timeout == std::chrono::milliseconds(1500));
  REQUIRE(r.barrier_timeout == std::chrono::milliseconds(2500));
  REQUIRE(refused.find("KVS_STALL_WARNING='1m'") != std::string::npos);
}

TEST_CASE("the transport is auto, shm or caf; ucx and anything else are refused by name",
          "[config][shm]") {
  config c;
  c.read_environment = false;
  auto r = c.resolved();
  REQUIRE(r.transport == "auto");
  REQUIRE(r.shm_min_bytes == 4096);
  REQUIRE(r.shm_bytes == int64_t{256} << 20);
  REQUIRE(r.shm_arena_bytes == int64_t{4} << 30);
  c.shm_arena_bytes = 0;  // off
  REQUIRE(c.resolved().shm_arena_bytes == 0);
  c.shm_arena_bytes = 4096;
  require_message([&] { (void)c.resolved(); }, errc::invalid_config, {"shm_arena_bytes"});
  c.shm_arena_bytes = -1;
  c.transport = "shm";
  REQUIRE(c.resolved().transport == "shm");
  c.transport = "ucx";
  require_message([&] { (void)c.resolved(); }, errc::invalid_config,
                  {"KVS_TRANSPORT", "'ucx'", "not shipped", "docs/distributed.md"});
  c.transport = "SHM";
  require_message([&] { (void)c.resolved(); }, errc::invalid_config,
                  {"KVS_TRANSPORT (config.transport) = 'SHM'", "auto, shm, caf"});
  c.transport = "caf";
  c.shm_bytes = 4096;
  require_message([&] { (void)c.resolved(); }, errc::invalid_config, {"shm_bytes"});
  ::setenv("KVS_SHM_MIN_BYTES", "64k", 1);
  std::string refused;
  try {
    (void)config{}.resolved();
  } catch (const kvs::error& e) {
    refused = e.what();
  }
  ::unsetenv("KVS_SHM_MIN_BYTES");
  REQUIRE(refused.find("KVS_SHM_MIN_BYTES='64k'") != std::string::npos);
}
