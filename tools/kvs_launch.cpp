// kvs-launch: starts a distributed job the way MXNet's tools/launch.py
// does: a scheduler, the servers and the workers, each with DMLC_* set,
// on this machine (--launcher local) or on the hosts of a hostfile over ssh.
// It exits with the first non-zero exit code of any process (and stops the
// rest), 0 when every worker exits 0, and says which process failed.
// Every job gets a fresh TLS authority and per-node certificates, removed
// at its end (docs/security.md); the nodes use them when TLS is on.
//
// Run:   ./build/tools/kvs-launch -n 2 -s 2 -- ./build/examples/03_dist_sync
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "job_credentials.hpp"
#include "launcher.hpp"

int main(int argc, char** argv) {
  kvs::launch::options opts;
  CLI::App app{"kvs-launch: run a distributed kvs job (scheduler, servers, workers)"};
  app.add_option("-n,--num-workers", opts.workers, "number of workers")->required();
  app.add_option("-s,--num-servers", opts.servers, "number of servers (default: as many as workers)");
  app.add_option("--launcher", opts.launcher, "local or ssh")->check(CLI::IsMember({"local", "ssh"}));
  app.add_option("-H,--hostfile", opts.hostfile, "hosts for --launcher ssh, one per line");
  app.add_option("--env", opts.env, "K:V, an environment variable for every process");
  app.add_option("--server-command", opts.server_command,
                 "run this for the scheduler and servers (default: the command itself)");
  app.add_option("--port", opts.port, "the scheduler's port (default: a free one)");
  app.add_option("--root-uri", opts.root_uri, "the scheduler's address (default 127.0.0.1)");
  int grace = 30;
  app.add_option("--grace", grace, "seconds the scheduler and servers get to end after the workers");
  app.add_option("command", opts.command, "the command and its arguments (after --)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    auto specs = kvs::launch::plan(opts);
    // The job's TLS credentials live in a private directory while it runs.
    std::optional<kvs::launch::private_dir> secrets;
    if (kvs::launch::wants_job_credentials(opts)) {
      secrets.emplace("kvs-job-");
      kvs::launch::hand_out_credentials(specs, *secrets);
    }
    return kvs::launch::supervise(specs, grace);
  } catch (const std::exception& e) {
    std::cerr << "kvs-launch: " << e.what() << "\n";
    return 2;
  }
}
