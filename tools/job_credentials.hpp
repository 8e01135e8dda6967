#pragma once
// The TLS credentials of one job (docs/security.md): a fresh authority,
// and for every node a key and a certificate it signed. Nodes on this
// machine read them from a private directory; remote nodes receive them
// through ssh (process_spec::secrets).
#include <vector>

#include "launcher.hpp"
#include "tls_authority.hpp"

namespace kvs::launch {

// True unless the job runs without TLS (KVS_SECURE=0) or names its own
// files (any of KVS_TLS_CERT, KVS_TLS_KEY, KVS_TLS_CA), in --env or in
// kvs-launch's environment. The nodes themselves decide whether TLS is on
// (KVS_SECURE, else on beyond loopback); credentials cost a few ms.
bool wants_job_credentials(const options& opts);

// Issues the credentials into `specs`: KVS_TLS_CERT, KVS_TLS_KEY and
// KVS_TLS_CA name files in `dir` for local nodes, secrets for remote ones.
void hand_out_credentials(std::vector<process_spec>& specs, const private_dir& dir);

}  // namespace kvs::launch
