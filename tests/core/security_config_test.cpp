// KVS_SECURE and the certificate files (docs/security.md): on by default
// beyond loopback, strict parsing, and a secure node that lacks a file,
// or holds a wrong one, is refused before it opens a port, naming the
// variable and what is wrong.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "../dist/tls_credentials.hpp"
#include "../test_config.hpp"

using namespace kvs;

TEST_CASE("secure is on by default exactly when a node binds or reaches beyond loopback",
          "[config][tls]") {
  auto c = test_config();
  REQUIRE(c.resolved().secure == 0);
  c.node_host = "127.0.0.3";
  c.root_uri = "localhost";
  REQUIRE(c.resolved().secure == 0);
  c.node_host = "10.1.2.3";
  REQUIRE(c.resolved().secure == 1);
  c.node_host = "127.0.0.1";
  c.root_uri = "node-a.cluster";
  REQUIRE(c.resolved().secure == 1);
  c.secure = 0;  // an explicit setting wins
  REQUIRE(c.resolved().secure == 0);
  c.secure = 2;
  require_message([&] { (void)c.resolved(); }, errc::invalid_config, {"config.secure = 2"});
}

TEST_CASE("KVS_SECURE is 0 or 1, parsed strictly, and overrides the default", "[config][tls]") {
  config c;
  c.node_host = "10.1.2.3";
  ::setenv("KVS_SECURE", "0", 1);
  REQUIRE(c.resolved().secure == 0);
  c.node_host = "127.0.0.1";
  ::setenv("KVS_SECURE", "1", 1);
  REQUIRE(c.resolved().secure == 1);
  ::setenv("KVS_SECURE", "yes", 1);
  require_message([&] { (void)c.resolved(); }, errc::invalid_config, {"KVS_SECURE='yes'"});
  ::unsetenv("KVS_SECURE");
  ::setenv("KVS_TLS_CA", "/some/ca.pem", 1);
  REQUIRE(c.resolved().tls_ca == "/some/ca.pem");
  ::unsetenv("KVS_TLS_CA");
}

namespace {

config secure_server() {
  auto c = test_config();
  c.role = "server";
  c.root_uri = "127.0.0.1";
  c.root_port = 1;  // never reached: the files are refused first
  c.num_workers = 1;
  c.num_servers = 1;
  c.secure = 1;
  return c;
}

}  // namespace

TEST_CASE("a secure node without its certificate files is refused, naming the variable",
          "[config][tls]") {
  tls_credentials_files job("test job");
  auto c = secure_server();
  require_message([&] { serve(c); }, errc::invalid_config,
                  {"KVS_TLS_CERT (config.tls_cert)", "KVS_SECURE=0"});
  c.tls_cert = job.cert;
  require_message([&] { serve(c); }, errc::invalid_config, {"KVS_TLS_KEY (config.tls_key)"});
  c.tls_key = job.key;
  require_message([&] { serve(c); }, errc::invalid_config, {"KVS_TLS_CA (config.tls_ca)"});
}

TEST_CASE("a secure node with a wrong certificate file is refused, saying what is wrong",
          "[config][tls]") {
  tls_credentials_files job("test job"), other("another authority");
  auto c = secure_server();
  job.apply(c);
  SECTION("a file that does not exist") {
    c.tls_key = job.dir.path() + "/missing.key";
    require_message([&] { serve(c); }, errc::invalid_config, {"KVS_TLS_KEY='", "cannot be read"});
  }
  SECTION("a file that is no certificate") {
    c.tls_cert = job.key;
    require_message([&] { serve(c); }, errc::invalid_config,
                    {"KVS_TLS_CERT='", "no PEM certificate"});
  }
  SECTION("a key of another certificate") {
    c.tls_key = other.key;
    require_message([&] { serve(c); }, errc::invalid_config,
                    {"KVS_TLS_KEY='", "is not the private key of the certificate"});
  }
  SECTION("a certificate of another authority") {
    c.tls_cert = other.cert;
    c.tls_key = other.key;
    require_message([&] { serve(c); }, errc::invalid_config,
                    {"KVS_TLS_CERT='", "is not a valid certificate of the authority"});
  }
  SECTION("an authority file that holds no certificate") {
    c.tls_ca = job.key;
    require_message([&] { serve(c); }, errc::invalid_config, {"KVS_TLS_CA='"});
  }
}
