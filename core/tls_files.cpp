#include "core/tls_files.hpp"

#include <cstdio>
#include <memory>
#include <string>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "kvs/error.hpp"

namespace kvs::detail {

namespace {

template <class T, void (*Free)(T*)>
struct freer {
  void operator()(T* p) const { Free(p); }
};
using x509_ptr = std::unique_ptr<X509, freer<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, freer<EVP_PKEY, EVP_PKEY_free>>;
using store_ptr = std::unique_ptr<X509_STORE, freer<X509_STORE, X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, freer<X509_STORE_CTX, X509_STORE_CTX_free>>;

// The oldest OpenSSL error on this thread, and the queue cleared.
std::string openssl_reason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "no PEM data of that kind";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

[[noreturn]] void bad(const char* var, const std::string& path, const std::string& what) {
  throw error(errc::invalid_config, std::string(var) + "='" + path + "': " + what);
}

std::unique_ptr<FILE, int (*)(FILE*)> open_file(const char* var, const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f{std::fopen(path.c_str(), "rb"), &std::fclose};
  if (!f)
    bad(var, path, "cannot be read");
  return f;
}

x509_ptr read_certificate(const char* var, const std::string& path) {
  auto f = open_file(var, path);
  x509_ptr cert{PEM_read_X509(f.get(), nullptr, nullptr, nullptr)};
  if (!cert)
    bad(var, path, "no PEM certificate (" + openssl_reason() + ")");
  return cert;
}

pkey_ptr read_key(const char* var, const std::string& path) {
  auto f = open_file(var, path);
  pkey_ptr key{PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr)};
  if (!key)
    bad(var, path, "no unencrypted PEM private key (" + openssl_reason() + ")");
  return key;
}

}  // namespace

void check_tls_files(const config& cfg) {
  auto cert = read_certificate("KVS_TLS_CERT", cfg.tls_cert);
  auto key = read_key("KVS_TLS_KEY", cfg.tls_key);
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    bad("KVS_TLS_KEY", cfg.tls_key,
        "is not the private key of the certificate KVS_TLS_CERT='" + cfg.tls_cert + "' (" +
            openssl_reason() + ")");
  store_ptr store{X509_STORE_new()};
  if (!store || X509_STORE_load_file(store.get(), cfg.tls_ca.c_str()) != 1)
    bad("KVS_TLS_CA", cfg.tls_ca,
        "holds no PEM certificate of an authority (" + openssl_reason() + ")");
  store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1)
    bad("KVS_TLS_CA", cfg.tls_ca, "cannot be used to verify (" + openssl_reason() + ")");
  if (X509_verify_cert(ctx.get()) != 1)
    bad("KVS_TLS_CERT", cfg.tls_cert,
        std::string("is not a valid certificate of the authority KVS_TLS_CA='") + cfg.tls_ca +
            "': " + X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

}  // namespace kvs::detail
