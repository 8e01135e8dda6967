#pragma once
// Certificates for tests: one authority's files (its certificate, and one
// node key and certificate it signed) in a private directory, made with
// kvs-launch's own authority code.
#include <string>

#include <kvs/config.hpp>

#include "tls_authority.hpp"

struct tls_credentials_files {
  kvs::launch::private_dir dir{"kvs-test-tls-"};
  std::string ca, cert, key;

  explicit tls_credentials_files(const std::string& authority) {
    kvs::launch::tls_authority a(authority);
    ca = dir.write("ca.pem", a.certificate());
    auto node = a.issue("test node");
    cert = dir.write("node.crt", node.certificate);
    key = dir.write("node.key", node.key);
  }

  // A node of the cluster this authority signs for.
  void apply(kvs::config& c) const {
    c.secure = 1;
    c.tls_cert = cert;
    c.tls_key = key;
    c.tls_ca = ca;
  }
};
