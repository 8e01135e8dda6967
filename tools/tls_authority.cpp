#include "tls_authority.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace kvs::launch {

namespace {

template <class T, void (*Free)(T*)>
struct freer {
  void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, freer<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, freer<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, freer<BIO, BIO_free_all>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, freer<X509_EXTENSION, X509_EXTENSION_free>>;

// Certificates are valid from a day ago (hosts' clocks differ) for a year.
constexpr long valid_before_s = 24L * 3600;
constexpr long valid_after_s = 365L * 24 * 3600;

[[noreturn]] void fail(const std::string& what) {
  char buf[256] = "unknown error";
  if (auto code = ERR_get_error())
    ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  throw std::runtime_error("cannot create the job's TLS credentials: " + what + " (" + buf + ")");
}

void check(int ok, const char* what) {
  if (ok != 1)
    fail(what);
}

pkey_ptr new_key() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    fail("EC key generation");
  return key;
}

// A version 3 certificate for `key` named `cn`, with a random serial and
// the validity above; issuer and extensions are the caller's.
x509_ptr new_certificate(EVP_PKEY* key, const std::string& cn) {
  x509_ptr cert{X509_new()};
  if (!cert)
    fail("X509_new");
  check(X509_set_version(cert.get(), 2), "X509_set_version");
  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof(serial)), "RAND_bytes");
  serial[0] &= 0x7f;  // a positive number
  std::unique_ptr<BIGNUM, freer<BIGNUM, BN_free>> bn{BN_bin2bn(serial, sizeof(serial), nullptr)};
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())))
    fail("serial number");
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -valid_before_s) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_after_s))
    fail("validity");
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  auto* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>("kvs"), -1, -1, 0),
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
        "subject CN");
  return cert;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
  if (!ext || !X509_add_ext(cert, ext.get(), -1))
    fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
}

std::string pem_of(const std::function<int(BIO*)>& write) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || write(bio.get()) != 1)
    fail("PEM encoding");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string certificate_pem(X509* cert) {
  return pem_of([cert](BIO* b) { return PEM_write_bio_X509(b, cert); });
}

}  // namespace

struct tls_authority::impl {
  pkey_ptr key;
  x509_ptr cert;
};

tls_authority::tls_authority(const std::string& name) : impl_(new impl) {
  impl_->key = new_key();
  impl_->cert = new_certificate(impl_->key.get(), name);
  X509* c = impl_->cert.get();
  check(X509_set_issuer_name(c, X509_get_subject_name(c)), "issuer");
  add_extension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(c, c, NID_subject_key_identifier, "hash");
  if (X509_sign(c, impl_->key.get(), EVP_sha256()) <= 0)
    fail("signing the authority");
  certificate_ = certificate_pem(c);
}

tls_authority::~tls_authority() = default;

tls_credentials tls_authority::issue(const std::string& node) const {
  auto key = new_key();
  auto cert = new_certificate(key.get(), node);
  X509* ca = impl_->cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)), "issuer");
  add_extension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca, NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_extension(cert.get(), ca, NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), impl_->key.get(), EVP_sha256()) <= 0)
    fail("signing the certificate of " + node);
  EVP_PKEY* k = key.get();
  return {certificate_pem(cert.get()), pem_of([k](BIO* b) {
            return PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

private_dir::private_dir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data()))  // mkdtemp makes it 0700
    throw std::runtime_error("cannot create a private directory " + pattern + ": " +
                             std::strerror(errno));
  path_ = buf.data();
}

private_dir::~private_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string private_dir::write(const std::string& name, const std::string& text) const {
  auto path = path_ + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return path;
}

}  // namespace kvs::launch
