#include "job_credentials.hpp"

#include <unistd.h>

#include <string>

namespace kvs::launch {

bool wants_job_credentials(const options& opts) {
  if (job_setting(opts, "KVS_SECURE") == "0")
    return false;
  for (const char* var : {"KVS_TLS_CERT", "KVS_TLS_KEY", "KVS_TLS_CA"})
    if (!job_setting(opts, var).empty())
      return false;
  return true;
}

void hand_out_credentials(std::vector<process_spec>& specs, const private_dir& dir) {
  tls_authority ca("kvs job authority (kvs-launch pid " + std::to_string(getpid()) + ")");
  auto ca_file = dir.write("ca.pem", ca.certificate());
  for (size_t i = 0; i < specs.size(); ++i) {
    auto& p = specs[i];
    auto creds = ca.issue("kvs " + p.name);
    if (p.host.empty()) {
      auto stem = "node" + std::to_string(i);
      p.env["KVS_TLS_CERT"] = dir.write(stem + ".crt", creds.certificate);
      p.env["KVS_TLS_KEY"] = dir.write(stem + ".key", creds.key);
      p.env["KVS_TLS_CA"] = ca_file;
    } else {
      p.secrets = {{"KVS_TLS_CERT", "node.crt", creds.certificate},
                   {"KVS_TLS_KEY", "node.key", creds.key},
                   {"KVS_TLS_CA", "ca.pem", ca.certificate()}};
    }
  }
}

}  // namespace kvs::launch
