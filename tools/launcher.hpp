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

struct process_spec {
  std::string name;  // "scheduler", "server 0", "worker 1"
  std::string role;
  std::string host;  // empty: this machine
  std::map<std::string, std::string> env;
  std::vector<std::string> argv;
};

// What to start, in order: scheduler, servers, workers. Throws
// std::runtime_error naming a bad option.
std::vector<process_spec> plan(const options& opts);

// Starts every process and waits. Returns the first non-zero exit code of
// any process (128 + signal when one is killed), after stopping the rest,
// or 0 when every worker exits 0 (the scheduler and servers end by
// themselves then; they are stopped if they do not within `grace_s`).
int supervise(const std::vector<process_spec>& specs, int grace_s);

int free_port();

}  // namespace kvs::launch
