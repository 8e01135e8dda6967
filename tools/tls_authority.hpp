#pragma once
// A certificate authority made fresh for one job, as Dask's temporary
// security does: kvs-launch creates one, issues each node a key and a
// certificate signed by it, and forgets them when the job ends. Written
// with OpenSSL's library (no `openssl` command needed on any host).
#include <memory>
#include <string>

namespace kvs::launch {

// A key and its certificate, as PEM text.
struct tls_credentials {
  std::string certificate;
  std::string key;
};

class tls_authority {
public:
  // A new P-256 key and a self-signed CA certificate named `name`.
  explicit tls_authority(const std::string& name);
  ~tls_authority();
  tls_authority(const tls_authority&) = delete;
  tls_authority& operator=(const tls_authority&) = delete;

  // The authority's certificate (what every node trusts), PEM.
  const std::string& certificate() const { return certificate_; }

  // A new key and a certificate for `node` signed by this authority, good
  // for both ends of a TLS connection (serverAuth and clientAuth).
  tls_credentials issue(const std::string& node) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string certificate_;
};

// A directory only its owner can enter (mode 0700) under $TMPDIR or /tmp,
// removed with everything in it when this ends.
class private_dir {
public:
  explicit private_dir(const std::string& prefix);
  ~private_dir();
  private_dir(const private_dir&) = delete;
  private_dir& operator=(const private_dir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `text` to path()/name, readable by its owner only (0600);
  // returns the file's path.
  std::string write(const std::string& name, const std::string& text) const;

private:
  std::string path_;
};

}  // namespace kvs::launch
