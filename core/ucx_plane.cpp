#include "core/ucx_plane.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>

#ifdef KVS_WITH_UCX
#include <poll.h>

#include <atomic>
#include <thread>
#include <vector>
#include <unordered_map>
#include <unordered_set>

#include <ucp/api/ucp.h>
#endif

namespace kvs::detail {

namespace {

// hostname + boot id: two containers with one hostname on different
// machines differ in boot id; processes of one host agree on both.
std::string this_host() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  std::string boot;
  std::ifstream f("/proc/sys/kernel/random/boot_id");
  std::getline(f, boot);
  return std::string(name) + "/" + boot;
}

#ifdef KVS_WITH_UCX

kvs::error ucx_error(const std::string& what, ucs_status_t s) {
  return kvs::error(errc::peer_down, "data plane (UCX): " + what + ": " + ucs_status_string(s));
}

struct transfer;

// A peer's endpoint; `failed` once UCX reported the peer lost.
struct peer {
  ucp_ep_h ep = nullptr;
  std::atomic<bool> failed{false};
  std::string why;
  std::unordered_set<transfer*> recvs;  // receives pending from it (under the plane's mutex)
};

class ucx_plane_impl;

// One transfer in flight.
struct transfer {
  ucx_plane_impl* plane;
  std::shared_ptr<peer> with;
  ucx_plane::done_fn done;
  const char* what;
  void* request = nullptr;  // a receive's, while it is pending (under the plane's mutex)
  bool completed = false;   // under the plane's mutex
  std::atomic<int> holds{1};  // the poster and the callback, for a receive
};

class ucx_plane_impl final : public ucx_plane,
                             public std::enable_shared_from_this<ucx_plane_impl> {
public:
  // Throws kvs::error naming what failed.
  ucx_plane_impl() : host_(this_host()) {
    ucp_config_t* conf = nullptr;
    check(ucp_config_read(nullptr, nullptr, &conf), "reading UCX's settings (UCX_*)");
    ucp_params_t params{};
    params.field_mask = UCP_PARAM_FIELD_FEATURES;
    params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP;
    auto s = ucp_init(&params, conf, &ctx_);
    ucp_config_release(conf);
    check(s, "ucp_init");
    ucp_worker_params_t wp{};
    wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    wp.thread_mode = UCS_THREAD_MODE_MULTI;  // actors post, the progress thread completes
    if (auto st = ucp_worker_create(ctx_, &wp, &worker_); st != UCS_OK) {
      ucp_cleanup(ctx_);
      check(st, "ucp_worker_create");
    }
    ucp_address_t* addr = nullptr;
    size_t len = 0;
    if (ucp_worker_get_address(worker_, &addr, &len) != UCS_OK ||
        ucp_worker_get_efd(worker_, &efd_) != UCS_OK) {
      ucp_worker_destroy(worker_);
      ucp_cleanup(ctx_);
      throw kvs::error(errc::unsupported, "UCX worker without an address or event fd");
    }
    address_.assign(reinterpret_cast<const char*>(addr), len);
    ucp_worker_release_address(worker_, addr);
    progress_ = std::thread([this] { run_progress(); });
  }

  ~ucx_plane_impl() override {
    stop_ = true;
    ucp_worker_signal(worker_);
    if (progress_.get_id() == std::this_thread::get_id())
      progress_.detach();
    else if (progress_.joinable())
      progress_.join();
    for (auto& [addr, p] : peers_) {
      ucp_request_param_t prm{};
      prm.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
      prm.flags = UCP_EP_CLOSE_FLAG_FORCE;
      auto req = ucp_ep_close_nbx(p->ep, &prm);
      if (UCS_PTR_IS_PTR(req)) {
        while (ucp_request_check_status(req) == UCS_INPROGRESS)
          ucp_worker_progress(worker_);
        ucp_request_free(req);
      }
    }
    ucp_worker_destroy(worker_);
    ucp_cleanup(ctx_);
  }

  const std::string& address() const override { return address_; }
  const std::string& host() const override { return host_; }
  std::string transports() const override {
    const char* tls = std::getenv("UCX_TLS");
    return std::string("UCX ") + ucp_get_version_string() + ", UCX_TLS=" +
           (tls && *tls ? tls : "unset (UCX picks among the transports with peer failure handling)");
  }

  uint64_t new_tag(int32_t rank) override {
    return (static_cast<uint64_t>(static_cast<uint32_t>(rank) & 0xfffffu) << 44) |
           (next_tag_++ & ((uint64_t{1} << 44) - 1));
  }

  void connect(const std::string& addr) override {
    std::string why;
    peer_at(addr, why);
  }

  void send(const std::string& to, uint64_t tag, const void* p, uint64_t bytes,
            done_fn done) override {
    auto* t = start(to, std::move(done), "sending to a peer");
    if (t == nullptr)
      return;
    auto prm = params(t);
    prm.cb.send = &on_sent;
    auto s = ucp_tag_send_nbx(t->with->ep, p, bytes, tag, &prm);
    if (!UCS_PTR_IS_PTR(s)) {  // done at once: no callback comes
      complete(t, UCS_PTR_STATUS(s));
      release(t);
    } else {
      ucp_worker_signal(worker_);
    }
  }

  void recv(const std::string& from, uint64_t tag, void* p, uint64_t bytes,
            done_fn done) override {
    auto* t = start(from, std::move(done), "receiving from a peer");
    if (t == nullptr)
      return;
    t->holds = 2;  // this call and the completion callback
    {
      std::lock_guard<std::mutex> lock{mtx_};
      t->with->recvs.insert(t);
    }
    auto prm = params(t);
    prm.cb.recv = &on_received;
    auto s = ucp_tag_recv_nbx(worker_, p, bytes, tag, ~ucp_tag_t{0}, &prm);
    if (!UCS_PTR_IS_PTR(s)) {  // done at once: no callback comes
      {
        std::lock_guard<std::mutex> lock{mtx_};
        t->with->recvs.erase(t);
      }
      complete(t, UCS_PTR_STATUS(s));
      t->holds = 1;
      release(t);
      return;
    }
    {
      std::lock_guard<std::mutex> lock{mtx_};
      if (!t->completed)
        t->request = s;
    }
    release(t);
    ucp_worker_signal(worker_);
  }

private:
  static void check(ucs_status_t s, const char* what) {
    if (s != UCS_OK)
      throw kvs::error(errc::unsupported, std::string("UCX: ") + what + ": " + ucs_status_string(s));
  }

  static void on_error(void* arg, ucp_ep_h, ucs_status_t s) {
    auto* p = static_cast<peer_ref*>(arg);
    p->with->why = ucs_status_string(s);
    p->with->failed = true;
    p->plane->lost_ = true;
  }

  static void on_sent(void* req, ucs_status_t s, void* user) {
    auto* t = static_cast<transfer*>(user);
    t->plane->complete(t, s);
    release(t);
    ucp_request_free(req);
  }

  static void on_received(void* req, ucs_status_t s, const ucp_tag_recv_info_t*, void* user) {
    auto* t = static_cast<transfer*>(user);
    {
      std::lock_guard<std::mutex> lock{t->plane->mtx_};
      t->with->recvs.erase(t);
      t->request = nullptr;
      t->completed = true;
    }
    t->plane->complete(t, s);
    ucp_request_free(req);
    release(t);
  }

  static void release(transfer* t) {
    if (--t->holds == 0)
      delete t;
  }

  static ucp_request_param_t params(transfer* t) {
    ucp_request_param_t prm{};
    prm.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    prm.user_data = t;
    return prm;
  }

  // Receives pending from a lost peer never match: cancel them (they end
  // with an error naming the loss).
  void cancel_lost() {
    if (!lost_.exchange(false))
      return;
    std::vector<void*> doomed;
    {
      std::lock_guard<std::mutex> lock{mtx_};
      for (auto& [addr, p] : peers_)
        if (p->failed)
          for (auto* t : p->recvs)
            if (t->request != nullptr)
              doomed.push_back(t->request);
    }
    for (auto* r : doomed)
      ucp_request_cancel(worker_, r);
  }

  // The endpoint to `addr`, created on first use; nullptr when it failed.
  std::shared_ptr<peer> peer_at(const std::string& addr, std::string& why) {
    std::lock_guard<std::mutex> lock{mtx_};
    auto& p = peers_[addr];
    if (p)
      return p;
    p = std::make_shared<peer>();
    refs_.push_back(std::make_unique<peer_ref>(peer_ref{this, p}));
    ucp_ep_params_t ep{};
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                    UCP_EP_PARAM_FIELD_ERR_HANDLER;
    ep.address = reinterpret_cast<const ucp_address_t*>(addr.data());
    ep.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    ep.err_handler.cb = &on_error;
    ep.err_handler.arg = refs_.back().get();
    if (auto s = ucp_ep_create(worker_, &ep, &p->ep); s != UCS_OK) {
      why = ucs_status_string(s);
      peers_.erase(addr);
      return nullptr;
    }
    return p;
  }

  // A transfer with `addr`, counted as in flight; nullptr after `done` got
  // the error.
  transfer* start(const std::string& addr, done_fn done, const char* what) {
    std::string why;
    auto p = peer_at(addr, why);
    if (!p) {
      done(kvs::error(errc::peer_down, std::string("data plane (UCX): ") + what +
                                           ": no endpoint to the peer: " + why));
      return nullptr;
    }
    if (p->failed) {
      done(kvs::error(errc::peer_down,
                      std::string("data plane (UCX): ") + what + ": the peer is lost: " + p->why));
      return nullptr;
    }
    ++in_flight_;
    return new transfer{this, std::move(p), std::move(done), what, nullptr};
  }

  // Reports the outcome to the transfer's owner (the callback frees it).
  void complete(transfer* t, ucs_status_t s) {
    std::optional<kvs::error> f;
    if (s != UCS_OK)
      f = ucx_error(std::string(t->what) +
                        (t->with->failed ? " (the peer is lost: " + t->with->why + ")" : ""),
                    s);
    auto done = std::move(t->done);
    --in_flight_;
    done(std::move(f));
  }

  // Drives UCX until it has nothing to do, then sleeps on the worker's event
  // fd: never a busy loop (the processes of a job share the cores). While
  // transfers are in flight it wakes every millisecond, for transports
  // whose progress raises no event.
  void run_progress() {
    while (!stop_) {
      while (ucp_worker_progress(worker_) != 0) {
      }
      cancel_lost();
      if (ucp_worker_arm(worker_) == UCS_ERR_BUSY)
        continue;
      pollfd pfd{efd_, POLLIN, 0};
      poll(&pfd, 1, in_flight_ > 0 ? 1 : 100);
    }
  }

  ucp_context_h ctx_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int efd_ = -1;
  std::string address_;
  std::string host_;
  std::atomic<bool> stop_{false};
  std::atomic<int> in_flight_{0};
  std::thread progress_;
  std::mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<peer>> peers_;
  struct peer_ref {
    ucx_plane_impl* plane;
    std::shared_ptr<peer> with;
  };
  std::vector<std::unique_ptr<peer_ref>> refs_;  // error handler arguments
  std::atomic<bool> lost_{false};
  std::atomic<uint64_t> next_tag_{1};
};

#endif  // KVS_WITH_UCX

}  // namespace

std::shared_ptr<ucx_plane> ucx_plane::shared(std::string& why) {
#ifdef KVS_WITH_UCX
  static std::mutex mtx;
  static std::weak_ptr<ucx_plane_impl> current;
  std::lock_guard<std::mutex> lock{mtx};
  if (auto p = current.lock())
    return p;
  try {
    auto p = std::make_shared<ucx_plane_impl>();
    current = p;
    return p;
  } catch (const kvs::error& e) {
    why = e.what();
    return nullptr;
  }
#else
  why = "kvs was built without UCX (install libucx-dev and rebuild)";
  return nullptr;
#endif
}

}  // namespace kvs::detail
