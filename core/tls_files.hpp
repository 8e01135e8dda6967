#pragma once
// The files of a secure node (config.tls_cert, tls_key, tls_ca), checked
// before the network starts: CAF's OpenSSL module reads them only when a
// connection opens, and a bad file would then fail every connection
// without saying why.
#include "kvs/config.hpp"

namespace kvs::detail {

// Throws invalid_config naming the variable, the file and what is wrong
// when a file cannot be read or parsed, the key does not belong to the
// certificate, or the certificate is not signed by the authority.
void check_tls_files(const config& cfg);

// Nothing; referencing it links core/tls_error_queue.cpp, which works
// around CAF 0.17.6's OpenSSL error queue handling (see there).
void keep_tls_error_queue_fix();

}  // namespace kvs::detail
