#include "launcher.hpp"

#include "host_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/listen_port.hpp"

namespace kvs::launch {

int free_port() { return detail::free_listen_port(); }

namespace {

std::vector<std::string> read_hosts(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read the hostfile -H " + path);
  std::vector<std::string> hosts;
  std::string line;
  while (std::getline(in, line)) {
    auto end = line.find_first_of(" \t#:");
    line = line.substr(0, end);
    if (!line.empty())
      hosts.push_back(line);
  }
  if (hosts.empty())
    throw std::runtime_error("the hostfile " + path + " names no host");
  return hosts;
}

// A shell word in single quotes, for the remote command line.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string current_dir() {
  char buf[4096];
  return getcwd(buf, sizeof(buf)) ? std::string(buf) : std::string(".");
}

// The value --env gives `var` (the last one wins, as in plan()), if any.
std::optional<std::string> env_option(const options& opts, const std::string& var) {
  std::optional<std::string> value;
  for (auto& kv : opts.env)
    if (kv.size() > var.size() && kv.compare(0, var.size(), var) == 0 && kv[var.size()] == ':')
      value = kv.substr(var.size() + 1);
  return value;
}

}  // namespace

std::string job_setting(const options& opts, const std::string& var) {
  if (auto v = env_option(opts, var))
    return *v;
  const char* v = std::getenv(var.c_str());
  return v ? v : "";
}

std::vector<process_spec> plan(const options& opts) {
  if (opts.workers < 1)
    throw std::runtime_error("-n must be at least 1 (got " + std::to_string(opts.workers) + ")");
  if (opts.servers < 0)
    throw std::runtime_error("-s must be at least 1");
  if (opts.command.empty())
    throw std::runtime_error("no command: kvs-launch -n N [-s S] -- CMD ARGS...");
  if (opts.launcher != "local" && opts.launcher != "ssh")
    throw std::runtime_error("--launcher must be local or ssh (got " + opts.launcher + ")");
  std::vector<std::string> hosts;
  if (opts.launcher == "ssh") {
    if (opts.hostfile.empty())
      throw std::runtime_error("--launcher ssh needs -H hostfile");
    hosts = read_hosts(opts.hostfile);
  }
  int servers = opts.servers == 0 ? opts.workers : opts.servers;
  int port = opts.port == 0 ? free_port() : opts.port;
  // Across hosts every node binds its host's address (unless --env names
  // one for all), and the scheduler one the hosts can reach.
  bool node_host_given = env_option(opts, "DMLC_NODE_HOST").has_value();
  std::vector<std::string> addresses;
  if (!node_host_given)
    for (auto& h : hosts)
      addresses.push_back(numeric_address(h));
  std::string root = opts.root_uri;
  if (root.empty())
    root = hosts.empty() ? "127.0.0.1"
                         : local_address_towards(addresses.empty() ? numeric_address(hosts[0])
                                                                   : addresses[0]);
  std::map<std::string, std::string> common{
      {"DMLC_PS_ROOT_URI", root},
      {"DMLC_PS_ROOT_PORT", std::to_string(port)},
      {"DMLC_NUM_WORKER", std::to_string(opts.workers)},
      {"DMLC_NUM_SERVER", std::to_string(servers)},
  };
  for (auto& kv : opts.env) {
    auto colon = kv.find(':');
    if (colon == std::string::npos || colon == 0)
      throw std::runtime_error("--env takes K:V, got \"" + kv + "\"");
    common[kv.substr(0, colon)] = kv.substr(colon + 1);
  }
  auto server_argv = opts.server_command.empty() ? opts.command
                                                 : std::vector<std::string>{opts.server_command};
  std::vector<process_spec> out;
  auto add = [&](std::string name, std::string role, size_t index, bool remote) {
    process_spec p{std::move(name), role, "", common, role == "worker" ? opts.command : server_argv, {}};
    p.env["DMLC_ROLE"] = role;
    if (remote && !hosts.empty()) {
      p.host = hosts[index % hosts.size()];
      if (!node_host_given)
        p.env["DMLC_NODE_HOST"] = addresses[index % hosts.size()];
    } else if (!p.env.count("DMLC_NODE_HOST")) {
      p.env["DMLC_NODE_HOST"] = hosts.empty() ? "127.0.0.1" : root;
    }
    out.push_back(std::move(p));
  };
  add("scheduler", "scheduler", 0, false);
  for (int i = 0; i < servers; ++i)
    add("server " + std::to_string(i), "server", static_cast<size_t>(i), true);
  for (int i = 0; i < opts.workers; ++i)
    add("worker " + std::to_string(i), "worker", static_cast<size_t>(i), true);
  return out;
}

namespace {

struct child {
  const process_spec* spec;
  pid_t pid;
  bool running = true;
};

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;  // the node ended already; supervise() reports its exit
    done += static_cast<size_t>(n);
  }
}

// ssh HOST 'cd DIR && env K=V ... CMD ARGS'. With secrets: sh -c '...' that
// first reads them from standard input (dd reads exactly the bytes of each)
// into a private directory (umask 077) it removes when the node ends.
std::string remote_command(const process_spec& p) {
  std::string run = "cd " + quote(current_dir()) + " && env";
  for (auto& [k, v] : p.env)
    run += " " + k + "=" + quote(v);
  for (auto& f : p.secrets)
    run += " " + f.env + "=\"$d/" + f.name + "\"";
  for (auto& a : p.argv)
    run += " " + quote(a);
  if (p.secrets.empty())
    return run;
  std::string script =
      "umask 077 && d=$(mktemp -d) || exit 1; trap 'rm -rf \"$d\"' EXIT HUP INT TERM; ";
  for (auto& f : p.secrets)
    script += "dd bs=1 count=" + std::to_string(f.text.size()) + " of=\"$d/" + f.name +
              "\" 2>/dev/null && ";
  script += run + "; exit $?";
  return "sh -c " + quote(script);
}

pid_t start(const process_spec& p) {
  std::vector<std::string> argv;
  if (p.host.empty()) {
    argv = p.argv;
  } else {
    argv = {"ssh", "-o", "StrictHostKeyChecking=no", p.host, remote_command(p)};
  }
  int secrets_pipe[2] = {-1, -1};
  if (!p.secrets.empty() && pipe(secrets_pipe) != 0)
    throw std::runtime_error(std::string("pipe failed: ") + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);  // its own group, so stopping it stops its children too
    if (secrets_pipe[0] >= 0) {
      dup2(secrets_pipe[0], 0);
      close(secrets_pipe[0]);
      close(secrets_pipe[1]);
    }
    if (p.host.empty())
      for (auto& [k, v] : p.env)
        setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::cerr << "kvs-launch: cannot run " << argv[0] << ": " << std::strerror(errno) << "\n";
    _exit(127);
  }
  setpgid(pid, pid);
  if (secrets_pipe[0] >= 0) {  // a few KiB: the pipe holds them all, no wait
    close(secrets_pipe[0]);
    for (auto& f : p.secrets)
      write_all(secrets_pipe[1], f.text);
    close(secrets_pipe[1]);
  }
  return pid;
}

int code_of(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

std::string describe(int status) {
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with code " + std::to_string(code_of(status));
}

void stop_all(std::vector<child>& kids) {
  for (auto& c : kids)
    if (c.running)
      kill(-c.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (auto& c : kids) {
    while (c.running && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(c.pid, &status, WNOHANG) == c.pid)
        c.running = false;
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (c.running) {
      kill(-c.pid, SIGKILL);
      waitpid(c.pid, nullptr, 0);
      c.running = false;
    }
  }
}

}  // namespace

namespace {

volatile std::sig_atomic_t stop_signal = 0;

void on_stop_signal(int sig) { stop_signal = sig; }

}  // namespace

int supervise(const std::vector<process_spec>& specs, int grace_s) {
  // Ctrl-C or a kill of kvs-launch stops the job and returns, so the
  // caller still removes the job's credentials.
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGHUP, on_stop_signal);
  std::vector<child> kids;
  for (auto& s : specs)
    kids.push_back(child{&s, start(s)});
  int workers_left = 0;
  for (auto& c : kids)
    workers_left += c.spec->role == "worker" ? 1 : 0;
  auto grace_end = std::chrono::steady_clock::time_point::max();
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (auto& c : kids) {
        if (c.pid != pid)
          continue;
        c.running = false;
        if (code_of(status) != 0) {
          std::cerr << "kvs-launch: " << c.spec->name << " (pid " << pid << ") "
                    << describe(status) << "; stopping the others\n";
          stop_all(kids);
          return code_of(status);
        }
        if (c.spec->role == "worker" && --workers_left == 0)
          grace_end = std::chrono::steady_clock::now() + std::chrono::seconds(grace_s);
      }
      bool any = false;
      for (auto& c : kids)
        any = any || c.running;
      if (!any)
        return 0;
      continue;
    }
    if (stop_signal != 0) {
      std::cerr << "kvs-launch: stopped by signal " << stop_signal << "; stopping the job\n";
      stop_all(kids);
      return 128 + stop_signal;
    }
    if (std::chrono::steady_clock::now() > grace_end) {
      std::cerr << "kvs-launch: every worker finished, but the scheduler or a server did not "
                   "end within "
                << grace_s << " s; stopping them\n";
      stop_all(kids);
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace kvs::launch
