// A fix for CAF 0.17.6's OpenSSL module, which calls SSL_get_error() after
// SSL_read/SSL_write/SSL_connect/SSL_accept without clearing the thread's
// OpenSSL error queue first (OpenSSL's manual requires it), and leaves
// errors there when a handshake fails or a peer closes without a TLS
// goodbye. One such stale error makes the next "want read" of another
// connection on the same middleman thread look fatal: that connection is
// dropped or stalls. So a rogue peer refused at connect time, or the end
// of one node, broke the others' connections (reproduced with CAF alone).
//
// These definitions interpose on libssl's (an executable's symbols come
// first in ELF lookup, and CAF calls them through the PLT): each clears
// the queue, then calls OpenSSL's own function. Clearing before an I/O
// call is what OpenSSL asks every caller to do, so other users of
// OpenSSL in the process are unaffected.
#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class F>
F openssl_function(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = openssl_function<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = openssl_function<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static auto real = openssl_function<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto real = openssl_function<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

}  // extern "C"

namespace kvs::detail {

// Referenced by configure_middleman so that a static link keeps this file.
void keep_tls_error_queue_fix() {}

}  // namespace kvs::detail
