// bench/ucx_probe: what Debian's UCX (1.13) can do for a kvs data plane, on
// the plain UCP API with nothing of kvs around it. Two processes (a forked
// pair) exchange worker addresses over a socketpair, create endpoints with
// peer-failure handling (UCP_ERR_HANDLING_MODE_PEER and an err_handler, as a
// plane under kvs's rules would need) and send tagged messages.
//
// Modes:
//   --mode latency     4 KB ping-pong: one-way time (half the round trip)
//   --mode bandwidth   16 and 64 MiB one way, each answered by an 8-byte ack
//   --mode failure     the peer is SIGKILLed (--case recv-from-dead: it was
//                      sending us a big rendezvous message; send-to-dead: we
//                      were sending to it; idle: nothing in flight) and the
//                      survivor reports whether, and how fast, its request
//                      failed and its err_handler ran, or the process aborts
//                      (UCX's ucs_fatal) or hangs (the parent reports both);
//                      a request still stuck at the deadline is then closed
//                      by force (what a plane would do on the control plane's
//                      peer_down). --when before: the peer dies before its
//                      bytes are read (or before it posted its receive);
//                      --bystander: a third peer sends the survivor 4 KB
//                      after the kill (is the survivor still listening?)
// Transport choices are UCP settings set with ucp_config_modify, not the
// environment: --tls (UCX_TLS; "default" leaves it alone), --mm-error-handling
// (MM_ERROR_HANDLING=y, which sets posix's and sysv's ERROR_HANDLING:
// peer-failure support for the shared-memory transports), --keepalive
// (KEEPALIVE_INTERVAL).
// Every endpoint prints its lanes (ucp_ep_print_info), which says which
// transport carries what. Every wait has a deadline (--deadline-s).
//
// Run: bench/ucx_probe.sh (every transport choice and failure case, each
// under `timeout`); results in docs/benchmarks.md, "UCX 1.13 on this machine".
#include <ucp/api/ucp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string mode = "bandwidth";
  std::string tls = "default";
  bool mm_error_handling = false;
  bool no_peer_errors = false;  // UCP_ERR_HANDLING_MODE_NONE: what UCX picks when it may
  std::string keepalive;        // empty: UCX's default (20 s)
  int iterations = 0;           // 0: 2000 for latency, 20 for bandwidth
  std::vector<double> sizes_mib{16, 64};
  std::string failure_case = "recv-from-dead";
  std::string when = "during";
  double size_mib = 256;        // the message in flight when the peer dies
  int kill_after_ms = 3;
  int repeat = 3;
  int deadline_s = 30;
  bool bystander = false;       // failure: a third peer sends to the survivor after the kill
};

constexpr ucp_tag_t tag_ping = 1, tag_data = 2, tag_ack = 3, tag_bystander = 4;
constexpr ucp_tag_t all_bits = ~ucp_tag_t{0};

double ms_since(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// The processes this one forked and must not leave behind (a survivor's victim
// and bystander): die() kills them, so none lingers with its buffer touched or
// prints into a later run.
pid_t children[2] = {-1, -1};

void kill_children() {
  for (pid_t& pid : children) {
    if (pid <= 0) continue;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
}

// In a child just forked: SIGKILLed by the kernel when its parent dies, however
// it dies (die(), a SIGKILL for a hang, `timeout`), and no children of its own yet.
void child_of(pid_t parent) {
  children[0] = children[1] = -1;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) std::_Exit(2);  // the parent died before the prctl
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ucx_probe [%d]: %s\n", static_cast<int>(getpid()), what.c_str());
  std::fflush(nullptr);
  kill_children();
  std::_Exit(2);
}

void check(ucs_status_t status, const char* what) {
  if (status != UCS_OK) die(std::string(what) + ": " + ucs_status_string(status));
}

std::string describe(const options& opt) {
  return "tls=" + opt.tls + " mm_error_handling=" + (opt.mm_error_handling ? "y" : "n") +
         (opt.no_peer_errors ? " err_mode=none" : " err_mode=peer") +
         (opt.keepalive.empty() ? "" : " keepalive=" + opt.keepalive);
}

// --- the address exchange: length-prefixed bytes over a socketpair ---------
void write_all(int fd, const void* data, size_t n) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) die("address exchange: write failed");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void read_all(int fd, void* data, size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) die("address exchange: the peer closed the socket");
    p += r;
    n -= static_cast<size_t>(r);
  }
}

std::vector<char> swap_addresses(int fd, const std::vector<char>& mine) {
  uint64_t n = mine.size();
  write_all(fd, &n, sizeof n);
  write_all(fd, mine.data(), mine.size());
  read_all(fd, &n, sizeof n);
  if (n == 0 || n > (1u << 20)) die("address exchange: implausible address length");
  std::vector<char> theirs(n);
  read_all(fd, theirs.data(), n);
  return theirs;
}

// --- one process's UCP context, worker and endpoint to its peer ------------
struct peer_failure {
  bool seen = false;
  ucs_status_t status = UCS_OK;
  clock_type::time_point when;
};

void on_peer_error(void* arg, ucp_ep_h, ucs_status_t status) {
  auto* f = static_cast<peer_failure*>(arg);
  if (f->seen) return;
  f->seen = true;
  f->status = status;
  f->when = clock_type::now();
}

class ucx_side {
 public:
  explicit ucx_side(const options& opt) {
    ucp_config_t* config = nullptr;
    check(ucp_config_read(nullptr, nullptr, &config), "ucp_config_read");
    auto set = [&](const char* name, const std::string& value) {
      check(ucp_config_modify(config, name, value.c_str()), name);
    };
    if (opt.tls != "default") set("TLS", opt.tls);
    if (opt.mm_error_handling) {
      set("MM_ERROR_HANDLING", "y");  // the mm table's name: POSIX_/SYSV_ERROR_HANDLING are "invalid" here
    }
    if (!opt.keepalive.empty()) set("KEEPALIVE_INTERVAL", opt.keepalive);
    ucp_params_t params{};
    params.field_mask = UCP_PARAM_FIELD_FEATURES;
    params.features = UCP_FEATURE_TAG;
    ucs_status_t status = ucp_init(&params, config, &context_);
    ucp_config_release(config);
    check(status, "ucp_init");
    ucp_worker_params_t wp{};
    wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    wp.thread_mode = UCS_THREAD_MODE_SINGLE;
    check(ucp_worker_create(context_, &wp, &worker_), "ucp_worker_create");
    err_mode_ = opt.no_peer_errors ? UCP_ERR_HANDLING_MODE_NONE : UCP_ERR_HANDLING_MODE_PEER;
  }

  ~ucx_side() {
    if (ep_ != nullptr) close_endpoint();
    ucp_worker_destroy(worker_);
    ucp_cleanup(context_);
  }

  ucx_side(const ucx_side&) = delete;
  ucx_side& operator=(const ucx_side&) = delete;

  std::vector<char> address() const {
    ucp_address_t* addr = nullptr;
    size_t len = 0;
    check(ucp_worker_get_address(worker_, &addr, &len), "ucp_worker_get_address");
    std::vector<char> bytes(reinterpret_cast<char*>(addr), reinterpret_cast<char*>(addr) + len);
    ucp_worker_release_address(worker_, addr);
    return bytes;
  }

  void connect(const std::vector<char>& peer_address) {
    ucp_ep_params_t ep{};
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
    ep.address = reinterpret_cast<const ucp_address_t*>(peer_address.data());
    ep.err_mode = err_mode_;
    if (err_mode_ == UCP_ERR_HANDLING_MODE_PEER) {
      ep.field_mask |= UCP_EP_PARAM_FIELD_ERR_HANDLER;
      ep.err_handler.cb = on_peer_error;
      ep.err_handler.arg = &failure;
    }
    check(ucp_ep_create(worker_, &ep, &ep_), "ucp_ep_create");
  }

  void* send(const void* data, size_t n, ucp_tag_t tag) {
    ucp_request_param_t param{};
    return ucp_tag_send_nbx(ep_, data, n, tag, &param);
  }

  void* recv(void* data, size_t n, ucp_tag_t tag) {
    ucp_request_param_t param{};
    return ucp_tag_recv_nbx(worker_, data, n, tag, all_bits, &param);
  }

  // A request's final status, or UCS_ERR_TIMED_OUT once the deadline passed
  // (the request is then cancelled and left to UCX).
  ucs_status_t wait(void* request, clock_type::time_point deadline) {
    if (request == nullptr) return UCS_OK;
    if (UCS_PTR_IS_ERR(request)) return UCS_PTR_STATUS(request);
    ucs_status_t status;
    while ((status = ucp_request_check_status(request)) == UCS_INPROGRESS) {
      ucp_worker_progress(worker_);
      if (clock_type::now() > deadline) {
        ucp_request_cancel(worker_, request);
        return UCS_ERR_TIMED_OUT;
      }
    }
    ucp_request_free(request);
    return status;
  }

  void wait_ok(void* request, clock_type::time_point deadline, const char* what) {
    check(wait(request, deadline), what);
  }

  void cancel(void* request) { ucp_request_cancel(worker_, request); }

  // True once a message with this tag has arrived (a rendezvous: its header).
  bool probe(ucp_tag_t tag) {
    ucp_worker_progress(worker_);
    ucp_tag_recv_info_t info{};
    return ucp_tag_probe_nb(worker_, tag, all_bits, 0, &info) != nullptr;
  }

  // Progresses once; naps when nothing happened (the failure probes need not spin a core).
  void progress_or_nap() {
    if (ucp_worker_progress(worker_) == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }

  // The endpoint's lanes as ucp_ep_print_info prints them ("lane[0]: 2:sysv/memory.0 ...").
  std::string lanes() const {
    char* text = nullptr;
    size_t len = 0;
    FILE* f = open_memstream(&text, &len);
    if (f == nullptr) die("open_memstream failed");
    ucp_ep_print_info(ep_, f);
    std::fclose(f);
    std::string out, line;
    for (size_t i = 0; i < len; ++i) {
      if (text[i] != '\n') {
        line += text[i];
        continue;
      }
      auto at = line.find("lane[");
      if (at != std::string::npos) {
        std::string squeezed;
        for (char c : line.substr(at))
          if (!(c == ' ' && !squeezed.empty() && squeezed.back() == ' ')) squeezed += c;
        out += "\n    " + squeezed;
      }
      line.clear();
    }
    std::free(text);
    return out.empty() ? " (none printed)" : out;
  }

  void close_endpoint() {
    ucp_request_param_t param{};
    if (err_mode_ == UCP_ERR_HANDLING_MODE_PEER) {  // FORCE is refused without error handling
      param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
      param.flags = UCP_EP_CLOSE_FLAG_FORCE;  // a failed peer answers no close handshake
    }
    void* request = ucp_ep_close_nbx(ep_, &param);
    ep_ = nullptr;
    ucs_status_t status = wait(request, clock_type::now() + std::chrono::seconds(5));
    if (status != UCS_OK && status != UCS_ERR_CANCELED && status != UCS_ERR_CONNECTION_RESET &&
        status != UCS_ERR_ENDPOINT_TIMEOUT)
      std::printf("  closing the endpoint: %s\n", ucs_status_string(status));
  }

  peer_failure failure;

 private:
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  ucp_ep_h ep_ = nullptr;
  ucp_err_handling_mode_t err_mode_ = UCP_ERR_HANDLING_MODE_PEER;
};

// Connects to the peer at the other end of `fd` and does one small ping-pong,
// so wireup is over before anything is measured; `first` sends first.
void connect_pair(ucx_side& side, int fd, bool first, clock_type::time_point deadline) {
  side.connect(swap_addresses(fd, side.address()));
  std::vector<char> buf(64, 'x');
  if (first) {
    side.wait_ok(side.send(buf.data(), buf.size(), tag_ping), deadline, "warm-up send");
    side.wait_ok(side.recv(buf.data(), buf.size(), tag_ping), deadline, "warm-up recv");
  } else {
    side.wait_ok(side.recv(buf.data(), buf.size(), tag_ping), deadline, "warm-up recv");
    side.wait_ok(side.send(buf.data(), buf.size(), tag_ping), deadline, "warm-up send");
  }
}

std::vector<char> touched(size_t n) { return std::vector<char>(n, 1); }  // no first-touch faults timed

size_t mib_bytes(double mib) { return static_cast<size_t>(mib * 1024 * 1024); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// --- latency and bandwidth: the parent measures, the child echoes ----------
void measure(const options& opt, int fd) {
  auto deadline = clock_type::now() + std::chrono::seconds(opt.deadline_s);
  ucx_side side(opt);
  connect_pair(side, fd, true, deadline);
  std::printf("%s\n  lanes:%s\n", describe(opt).c_str(), side.lanes().c_str());
  if (opt.mode == "latency") {
    std::vector<char> buf = touched(4096);
    std::vector<double> one_way_us;
    for (int i = 0; i < opt.iterations; ++i) {
      auto t0 = clock_type::now();
      side.wait_ok(side.send(buf.data(), buf.size(), tag_data), deadline, "ping");
      side.wait_ok(side.recv(buf.data(), buf.size(), tag_data), deadline, "pong");
      one_way_us.push_back(ms_since(t0, clock_type::now()) * 1000 / 2);
    }
    std::printf("  latency 4096 B one way: median %.2f us over %d round trips\n",
                median(one_way_us), opt.iterations);
  } else {
    for (double mib : opt.sizes_mib) {
      std::vector<char> buf = touched(mib_bytes(mib));
      char ack[8];
      std::vector<double> ms;
      for (int i = 0; i < opt.iterations + 2; ++i) {  // 2 warm-ups (registration caches)
        auto t0 = clock_type::now();
        side.wait_ok(side.send(buf.data(), buf.size(), tag_data), deadline, "data send");
        side.wait_ok(side.recv(ack, sizeof ack, tag_ack), deadline, "ack");
        if (i >= 2) ms.push_back(ms_since(t0, clock_type::now()));
      }
      double m = median(ms);
      std::printf("  bandwidth %g MiB: median %.2f ms (%.2f GB/s), min %.2f, max %.2f, %d runs\n", mib, m,
                  static_cast<double>(buf.size()) / (m * 1e6), *std::min_element(ms.begin(), ms.end()),
                  *std::max_element(ms.begin(), ms.end()), opt.iterations);
    }
  }
  std::printf("  lanes after the transfers:%s\n", side.lanes().c_str());
}

void echo(const options& opt, int fd) {
  auto deadline = clock_type::now() + std::chrono::seconds(opt.deadline_s);
  ucx_side side(opt);
  connect_pair(side, fd, false, deadline);
  std::printf("  peer's lanes:%s\n", side.lanes().c_str());
  std::fflush(stdout);
  if (opt.mode == "latency") {
    std::vector<char> buf = touched(4096);
    for (int i = 0; i < opt.iterations; ++i) {
      side.wait_ok(side.recv(buf.data(), buf.size(), tag_data), deadline, "ping");
      side.wait_ok(side.send(buf.data(), buf.size(), tag_data), deadline, "pong");
    }
  } else {
    for (double mib : opt.sizes_mib) {
      std::vector<char> buf = touched(mib_bytes(mib));
      char ack[8] = {};
      for (int i = 0; i < opt.iterations + 2; ++i) {
        side.wait_ok(side.recv(buf.data(), buf.size(), tag_data), deadline, "data recv");
        side.wait_ok(side.send(ack, sizeof ack, tag_ack), deadline, "ack");
      }
    }
  }
  // The measuring side may still be reading our last ack: stay until it says it is done.
  char done = 0;
  read_all(fd, &done, 1);
}

int run_performance(const options& opt) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair failed");
  std::fflush(stdout);
  pid_t child = fork();
  if (child < 0) die("fork failed");
  if (child == 0) {  // UCX is initialized only after the fork, in each process
    close(sv[0]);
    echo(opt, sv[1]);
    std::fflush(stdout);
    std::_Exit(0);
  }
  close(sv[1]);
  measure(opt, sv[0]);
  char done = 1;
  write_all(sv[0], &done, 1);
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

// --- failure: a survivor and a victim it forked and will SIGKILL ------------
void victim(const options& opt, int fd) {
  alarm(static_cast<unsigned>(opt.deadline_s * 4));  // a backstop: child_of() kills us with the survivor
  auto deadline = clock_type::now() + std::chrono::seconds(opt.deadline_s);
  ucx_side side(opt);
  connect_pair(side, fd, false, deadline);
  std::vector<char> buf = touched(mib_bytes(opt.size_mib));
  void* request = nullptr;
  if (opt.failure_case == "recv-from-dead")
    request = side.send(buf.data(), buf.size(), tag_data);
  else if (opt.failure_case == "send-to-dead" && opt.when == "during")
    request = side.recv(buf.data(), buf.size(), tag_data);
  (void)request;  // in flight when the SIGKILL comes
  char ready = 1;
  write_all(fd, &ready, 1);
  for (;;) side.progress_or_nap();
}

// A third process connected to the survivor's worker: does one peer's death
// stall the others? It sends 4 KB when told (100 ms after the kill).
void bystander(const options& opt, int fd) {
  alarm(static_cast<unsigned>(opt.deadline_s * 4));
  // The survivor's setup, its wait for the victim's message and its wait after the kill: a deadline each.
  auto deadline = clock_type::now() + std::chrono::seconds(opt.deadline_s * 3);
  ucx_side side(opt);
  side.connect(swap_addresses(fd, side.address()));
  std::vector<char> buf(4096, 'b');
  side.wait_ok(side.send(buf.data(), 64, tag_bystander), deadline, "bystander's warm-up");
  char go = 0;
  for (;;) {  // a live peer keeps progressing meanwhile
    ssize_t r = ::recv(fd, &go, 1, MSG_DONTWAIT);
    if (r == 1) break;
    if (r == 0) std::_Exit(0);  // the survivor is gone: nothing to send to
    side.progress_or_nap();
    if (clock_type::now() > deadline) die("bystander: never told to send");
  }
  void* request = side.send(buf.data(), buf.size(), tag_bystander);
  side.wait(request, deadline);
  while (clock_type::now() < deadline) {  // the survivor SIGKILLs us when done
    if (::recv(fd, &go, 1, MSG_DONTWAIT) == 0) std::_Exit(0);
    side.progress_or_nap();
  }
}

std::string status_after(ucs_status_t status, clock_type::time_point kill_time,
                         clock_type::time_point done) {
  char text[160];
  std::snprintf(text, sizeof text, "%s after %.1f ms", ucs_status_string(status), ms_since(kill_time, done));
  return text;
}

// Returns 0 when the survivor saw the loss (or the transfer ended before it), 3 on a deadline.
int survivor(const options& opt) {
  signal(SIGPIPE, SIG_IGN);  // a bystander gone: write_all fails and says so, not a silent SIGPIPE
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair failed");
  const pid_t self = getpid();
  pid_t victim_pid = fork();
  if (victim_pid < 0) die("fork failed");
  if (victim_pid == 0) {
    child_of(self);
    close(sv[0]);
    victim(opt, sv[1]);
    std::_Exit(0);
  }
  children[0] = victim_pid;
  close(sv[1]);
  int sb[2] = {-1, -1};
  pid_t bystander_pid = -1;
  if (opt.bystander) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sb) != 0) die("socketpair failed");
    bystander_pid = fork();
    if (bystander_pid < 0) die("fork failed");
    if (bystander_pid == 0) {
      child_of(self);
      close(sv[0]);
      close(sb[0]);
      bystander(opt, sb[1]);
      std::_Exit(0);
    }
    children[1] = bystander_pid;
    close(sb[1]);
  }
  const auto setup_start = clock_type::now();
  auto deadline = setup_start + std::chrono::seconds(opt.deadline_s);
  ucx_side side(opt);
  connect_pair(side, sv[0], true, deadline);
  std::vector<char> bystander_buf(4096);
  void* bystander_request = nullptr;
  if (opt.bystander) {  // the bystander connects to us; we only receive from it
    swap_addresses(sb[0], side.address());
    side.wait_ok(side.recv(bystander_buf.data(), 64, tag_bystander), deadline, "bystander's warm-up");
    bystander_request = side.recv(bystander_buf.data(), bystander_buf.size(), tag_bystander);
  }
  ucs_status_t bystander_status = opt.bystander ? UCS_INPROGRESS : UCS_OK;
  auto bystander_done = clock_type::now();
  bool go_sent = false;
  clock_type::time_point go_at;
  // Our buffer is touched while the victim touches its own; the victim says
  // "ready" once its buffer is touched and its request posted.
  std::vector<char> buf = touched(mib_bytes(opt.size_mib));
  char ready = 0;
  read_all(sv[0], &ready, 1);
  const auto ready_at = clock_type::now();  // the waits below start here, not before the setup
  deadline = ready_at + std::chrono::seconds(opt.deadline_s);

  std::atomic<int64_t> killed_at{0};  // steady_clock ticks
  auto kill_victim = [&] {
    kill(victim_pid, SIGKILL);
    killed_at = clock_type::now().time_since_epoch().count();
  };
  auto kill_time = [&] { return clock_type::time_point(clock_type::duration(killed_at.load())); };
  void* request = nullptr;
  std::thread killer;
  if (opt.failure_case == "recv-from-dead") {
    while (!side.probe(tag_data)) {  // the rendezvous header is here; its bytes are not
      if (clock_type::now() > deadline) {
        char text[200];
        std::snprintf(text, sizeof text,
                      "the victim's message never arrived (waited %.1f ms after its \"ready\"; setup took %.1f ms)",
                      ms_since(ready_at, clock_type::now()), ms_since(setup_start, ready_at));
        die(text);
      }
    }
    if (opt.when == "before") {
      kill_victim();
      waitpid(victim_pid, nullptr, 0);  // dead and reaped before we read its memory
      children[0] = -1;
    }
    request = side.recv(buf.data(), buf.size(), tag_data);
  } else if (opt.failure_case == "send-to-dead") {
    request = side.send(buf.data(), buf.size(), tag_data);
  } else {  // idle
    kill_victim();
    waitpid(victim_pid, nullptr, 0);
    children[0] = -1;
  }
  const auto posted_at = clock_type::now();  // --kill-after-ms counts from here
  if (killed_at.load() == 0)
    killer = std::thread([&] {
      std::this_thread::sleep_until(posted_at + std::chrono::milliseconds(opt.kill_after_ms));
      kill_victim();
    });
  std::printf("  lanes when the transfer starts:%s\n", side.lanes().c_str());
  std::fflush(stdout);

  // Both must end: the request (failed, unless it finished before the kill)
  // and the err_handler; whichever comes first, the other gets the same deadline.
  bool in_flight = opt.failure_case != "idle";
  ucs_status_t status = UCS_INPROGRESS;
  auto done = clock_type::now();
  if (in_flight && (request == nullptr || UCS_PTR_IS_ERR(request))) {
    status = request == nullptr ? UCS_OK : UCS_PTR_STATUS(request);
    request = nullptr;
  }
  deadline = clock_type::now() + std::chrono::milliseconds(opt.kill_after_ms) + std::chrono::seconds(opt.deadline_s);
  // The bystander's message: told to send 100 ms after the kill; has it arrived?
  auto watch_bystander = [&] {
    if (opt.bystander && !go_sent && killed_at.load() != 0 &&
        clock_type::now() > kill_time() + std::chrono::milliseconds(100)) {
      char go = 1;
      write_all(sb[0], &go, 1);
      go_sent = true;
      go_at = clock_type::now();
    }
    if (bystander_request != nullptr &&
        (bystander_status = ucp_request_check_status(bystander_request)) != UCS_INPROGRESS) {
      bystander_done = clock_type::now();
      ucp_request_free(bystander_request);
      bystander_request = nullptr;
    }
  };
  while (clock_type::now() < deadline) {
    if (request != nullptr && (status = ucp_request_check_status(request)) != UCS_INPROGRESS) {
      done = clock_type::now();
      ucp_request_free(request);
      request = nullptr;
    }
    watch_bystander();
    if ((!in_flight || status != UCS_INPROGRESS) && side.failure.seen && bystander_status != UCS_INPROGRESS)
      break;
    side.progress_or_nap();
  }
  if (killer.joinable()) killer.join();
  bool finished_first = in_flight && status == UCS_OK && done < kill_time();
  std::string request_result = !in_flight                   ? "none in flight"
                               : finished_first             ? "completed before the kill (case not exercised)"
                               : status == UCS_INPROGRESS   ? "STILL PENDING at the deadline"
                                                            : status_after(status, kill_time(), done);
  // The verdict is taken here, at the deadline: an err_handler that runs
  // during the forced close below, or a request that the close ends, does not
  // turn a stuck case into a pass.
  const peer_failure at_deadline = side.failure;
  const bool handled = at_deadline.seen;
  const ucs_status_t status_at_deadline = status;
  std::string handler_result = handled ? status_after(at_deadline.status, kill_time(), at_deadline.when)
                                       : "NOT CALLED by the deadline";
  // What a plane would do on the control plane's peer_down: cancel, then
  // close the endpoint by force. Does the stuck request end then, and which
  // of the two ended it?
  std::string forced;
  if (request != nullptr) {
    auto t0 = clock_type::now();
    side.cancel(request);
    for (auto until = t0 + std::chrono::milliseconds(200);
         (status = ucp_request_check_status(request)) == UCS_INPROGRESS && clock_type::now() < until;)
      side.progress_or_nap();
    double cancel_ms = ms_since(t0, clock_type::now());
    const bool ended_by_cancel = status != UCS_INPROGRESS;
    auto t1 = clock_type::now();
    side.close_endpoint();  // in any case, as a plane would on peer_down
    if (!ended_by_cancel)
      for (auto until = clock_type::now() + std::chrono::seconds(2);
           (status = ucp_request_check_status(request)) == UCS_INPROGRESS && clock_type::now() < until;)
        side.progress_or_nap();
    double close_ms = ms_since(t1, clock_type::now());
    for (auto more = clock_type::now() + std::chrono::seconds(2);
         bystander_status == UCS_INPROGRESS && clock_type::now() < more;) {
      watch_bystander();
      side.progress_or_nap();
    }
    char text[300];
    if (ended_by_cancel)
      std::snprintf(text, sizeof text, "; ucp_request_cancel ended the request (%s) in %.1f ms, then ucp_ep_close_nbx(FORCE)",
                    ucs_status_string(status), cancel_ms);
    else
      std::snprintf(text, sizeof text,
                    "; ucp_request_cancel: request still pending after %.1f ms of progress; then "
                    "ucp_ep_close_nbx(FORCE): request %s after %.1f ms",
                    cancel_ms, status == UCS_INPROGRESS ? "STILL PENDING" : ucs_status_string(status), close_ms);
    forced = text;
    if (!handled && side.failure.seen) forced += " (err_handler called only after the deadline)";
    if (status != UCS_INPROGRESS) ucp_request_free(request);
  }
  deadline = clock_type::now() + std::chrono::seconds(opt.deadline_s);
  std::string after = "";
  if (opt.failure_case == "idle" && handled) {  // what a send to the lost peer does now
    std::vector<char> small(4096);
    after = ", then a send: " +
            std::string(ucs_status_string(side.wait(side.send(small.data(), small.size(), tag_data), deadline)));
  }
  std::string third;
  if (opt.bystander)
    third = !go_sent                             ? "; bystander: never told to send"
            : bystander_status == UCS_INPROGRESS ? "; a third peer's 4 KB (sent 100 ms after the kill): NEVER ARRIVED"
                                                 : "; a third peer's 4 KB (sent 100 ms after the kill): " +
                                                       status_after(bystander_status, go_at, bystander_done);
  std::printf("  case=%s when=%s: request %s; err_handler %s%s%s%s\n", opt.failure_case.c_str(),
              opt.when.c_str(), request_result.c_str(), handler_result.c_str(), after.c_str(), forced.c_str(),
              third.c_str());
  std::fflush(stdout);
  kill_children();  // the victim is SIGKILLed already; the bystander waits for it
  return (handled && (!in_flight || status_at_deadline != UCS_INPROGRESS)) || finished_first ? 0 : 3;
}

int run_failure(const options& opt) {
  std::printf("%s size=%g MiB kill_after=%d ms\n", describe(opt).c_str(), opt.size_mib, opt.kill_after_ms);
  int worst = 0;
  const pid_t parent = getpid();
  for (int r = 0; r < opt.repeat; ++r) {
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
      child_of(parent);  // its victim and bystander die with it (child_of), so a kill here ends all three
      std::_Exit(survivor(opt));
    }
    // The survivor has its own deadlines; this one catches a hang inside UCX.
    // (setup, the victim's message, the wait after the kill: a deadline each)
    auto deadline = clock_type::now() + std::chrono::seconds(opt.deadline_s * 3 + 15);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (clock_type::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        std::printf("  run %d: the survivor HUNG (killed after %d s)\n", r + 1, opt.deadline_s * 3 + 15);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (status == -1) {
      worst = std::max(worst, 4);
    } else if (WIFSIGNALED(status)) {
      std::printf("  run %d: the survivor DIED of signal %d (%s)\n", r + 1, WTERMSIG(status),
                  strsignal(WTERMSIG(status)));
      worst = std::max(worst, 5);
    } else {
      std::printf("  run %d: the survivor exited %d%s\n", r + 1, WEXITSTATUS(status),
                  WEXITSTATUS(status) == 0   ? " (saw the loss, or nothing to lose)"
                  : WEXITSTATUS(status) == 3 ? " (deadline passed)"
                                             : " (the probe failed: above)");
      worst = std::max(worst, WEXITSTATUS(status));
    }
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"what UCX can do for a kvs data plane: speed and peer failure"};
  options opt;
  app.add_option("--mode", opt.mode, "latency, bandwidth or failure")
      ->check(CLI::IsMember({"latency", "bandwidth", "failure"}));
  app.add_option("--tls", opt.tls, "UCX_TLS for this run (\"default\": UCX's choice)");
  app.add_flag("--mm-error-handling", opt.mm_error_handling,
               "peer-failure support in posix/sysv shared memory (MM_ERROR_HANDLING=y)");
  app.add_flag("--no-peer-errors", opt.no_peer_errors, "endpoints without error handling (UCP_ERR_HANDLING_MODE_NONE)");
  app.add_option("--keepalive", opt.keepalive, "KEEPALIVE_INTERVAL, e.g. 1s (default: UCX's)");
  app.add_option("--iterations", opt.iterations, "round trips (latency) or messages per size (bandwidth)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--sizes-mib", opt.sizes_mib, "bandwidth: message sizes in MiB")->check(CLI::Range(0.001, 4096.0));
  app.add_option("--case", opt.failure_case, "failure: recv-from-dead, send-to-dead or idle")
      ->check(CLI::IsMember({"recv-from-dead", "send-to-dead", "idle"}));
  app.add_option("--when", opt.when,
                 "failure: during (the transfer is under way) or before (recv-from-dead: the sender dies "
                 "after its rendezvous header arrived, before we read; send-to-dead: the receiver never posted)")
      ->check(CLI::IsMember({"during", "before"}));
  app.add_option("--size-mib", opt.size_mib, "failure: the message in flight")->check(CLI::Range(0.001, 4096.0));
  app.add_option("--kill-after-ms", opt.kill_after_ms, "failure: SIGKILL this long after the request is posted")
      ->check(CLI::Range(0, 60000));
  app.add_option("--repeat", opt.repeat, "failure: runs, each with a fresh pair")->check(CLI::Range(1, 1000));
  app.add_flag("--bystander", opt.bystander,
               "failure: a third peer sends the survivor 4 KB 100 ms after the kill (does it still arrive?)");
  app.add_option("--deadline-s", opt.deadline_s, "the longest any wait may take")->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);
  if (opt.iterations == 0) opt.iterations = opt.mode == "latency" ? 2000 : 20;
  return opt.mode == "failure" ? run_failure(opt) : run_performance(opt);
}
