#pragma once
// kvs-launch's pieces: the options (MXNet's tools/launch.py flags), the
// commands each process runs, and the process supervision.
#include <map>
#include <string>
#include <vector>

namespace kvs::launch {

struct options {
  int workers = 1;
  int servers = 0;  // 0: as many as workers (launch.py's default)
  std::string launcher = "local";  // or "ssh"
  std::string hostfile;
  std::vector<std::string> env;  // "K:V"
  std::string server_command;    // run this for scheduler and servers instead of the command
  int port = 0;                  // 0: a free one
  std::string root_uri;          // the scheduler's address; default 127.0.0.1 (local)
  std::vector<std::string> command;
};

// A file a remote node needs and nobody else may read (its TLS key and
// certificates): sent through ssh's standard input into a private
// directory on the host, removed when the node ends; the node finds it
// through the variable `env`.
struct secret_file {
  std::string env;   // e.g. KVS_TLS_KEY
  std::string name;  // file name in the private directory
  std::string text;
};

struct process_spec {
  std::string name;  // "scheduler", "server 0", "worker 1"
  std::string role;
  std::string host;  // empty: this machine
  std::map<std::string, std::string> env;
  std::vector<std::string> argv;
  std::vector<secret_file> secrets;  // remote nodes only
};

// What to start, in order: scheduler, servers, workers. With --launcher
// ssh each node binds and advertises its host's address (as this machine
// resolves the hostfile's name) and the scheduler the address this machine
// reaches the first host from. Throws std::runtime_error naming a bad
// option or a host that does not resolve.
std::vector<process_spec> plan(const options& opts);

// The value `var` will have in the nodes (--env, else kvs-launch's own
// environment); empty when unset.
std::string job_setting(const options& opts, const std::string& var);

// Starts every process and waits. Returns the first non-zero exit code of
// any process (128 + signal when one is killed), after stopping the rest,
// or 0 when every worker exits 0 (the scheduler and servers end by
// themselves then; they are stopped if they do not within `grace_s`).
int supervise(const std::vector<process_spec>& specs, int grace_s);

int free_port();

}  // namespace kvs::launch
