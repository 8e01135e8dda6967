// Mutual TLS between the nodes (docs/security.md): a cluster whose nodes
// hold certificates of the job's authority works as before, values exact;
// a peer with no certificate, or one from another authority, is refused at
// connect time by the scheduler and by the servers, and the job goes on
// untouched (nobody took a rank, no value changed).
#include <catch2/catch.hpp>

#include <future>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/spawn_function.hpp"
#include "core/network.hpp"
#include "local_cluster.hpp"
#include "messages/cluster_actors.hpp"
#include "messages/shard_actor.hpp"
#include "store/network.hpp"
#include "tls_credentials.hpp"

using namespace kvs;
using namespace std::chrono;

namespace {

// Two workers push rank + 1 for 3 rounds on a small and a split key; every
// pull must be the exact sum.
void exact_rounds(kvstore& kv) {
  std::vector<key> keys{1, 2};
  std::vector<shape> shapes{{3}, {3000}};
  kv.init(keys, {ndarray::zeros(shapes[0]), ndarray::zeros(shapes[1])});
  for (int round = 1; round <= 3; ++round) {
    std::vector<ndarray> grads, outs;
    for (auto& s : shapes) {
      grads.push_back(ndarray::full(s, kv.rank() + 1));
      outs.push_back(ndarray::zeros(s));
    }
    kv.pushpull(keys, grads, outs);
    for (auto& o : outs)
      for (float v : o.to_vector<float>())
        EXPECT(v == 3.0f);  // 1 + 2, no optimizer: the pull is the round's sum
  }
}

// serve(cfg) in a thread; outcome() joins it and says how it ended.
class node_thread {
public:
  explicit node_thread(config cfg)
      : thread_([this, cfg] {
          try {
            serve(cfg);
            outcome_ = "ended normally";
          } catch (const std::exception& e) {
            outcome_ = e.what();
          }
        }) {}
  ~node_thread() {
    if (thread_.joinable())
      thread_.join();
  }
  std::string outcome() {
    thread_.join();
    return outcome_;
  }

private:
  std::string outcome_;
  std::thread thread_;
};

local_cluster secure_cluster(int workers, int servers, const tls_credentials_files& tls) {
  local_cluster c{workers, servers};
  c.settings = [&tls](config& cfg) {
    tls.apply(cfg);
    cfg.bigarray_bound = 1000;  // key 2 is split across the servers
    cfg.heartbeat_interval = milliseconds(1000);
    cfg.heartbeat_timeout = milliseconds(5000);
  };
  return c;
}

}  // namespace

TEST_CASE("a secure cluster serves workers holding the job's certificates, values exact",
          "[dist][tls]") {
  tls_credentials_files job("test job");
  auto cluster = secure_cluster(2, 2, job);
  SECTION("dist_sync") { cluster.run("dist_sync", exact_rounds); }
  SECTION("dist_async") {
    cluster.run("dist_async", [](kvstore& kv) {
      kv.init(7, ndarray::zeros({5}));
      kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
      for (int i = 0; i < 10; ++i)
        kv.push(7, ndarray::full({5}, kv.rank() + 1));
      kv.wait_all();
      kv.barrier();
      auto out = ndarray::zeros({5});
      kv.pull(7, out);
      for (float v : out.to_vector<float>())
        EXPECT(v == 30.0f);  // 10 pushes of 1 and 10 of 2
    });
  }
}

TEST_CASE("a worker without the job's certificate cannot join a secure cluster",
          "[dist][tls]") {
  tls_credentials_files job("test job"), other("another authority");
  auto cluster = secure_cluster(1, 1, job);
  node_thread scheduler(cluster.node("scheduler")), server(cluster.node("server"));
  auto rogue = [&](const std::function<void(config&)>& credentials) {
    auto cfg = cluster.node("worker");
    credentials(cfg);
    cfg.startup_timeout = milliseconds(1500);
    return cfg;
  };
  SECTION("no certificate (plain TCP)") {
    auto cfg = rogue([](config& c) { c.secure = 0; });
    require_message([&] { (void)create("dist_sync", cfg); }, errc::timeout,
                    {"cannot reach the scheduler"});
  }
  SECTION("a certificate from another authority") {
    auto cfg = rogue([&](config& c) { other.apply(c); });
    require_message([&] { (void)create("dist_sync", cfg); }, errc::timeout,
                    {"cannot reach the scheduler"});
  }
  // The job's own worker then gets rank 0 and a fresh key: the rogue
  // registered nothing and wrote nothing.
  auto kv = create("dist_sync", cluster.node("worker"));
  REQUIRE(kv->rank() == 0);
  kv->init(5, ndarray::full({4}, 2.0));
  auto out = ndarray::zeros({4});
  kv->pull(5, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>{2, 2, 2, 2});
  kv.reset();
  REQUIRE(scheduler.outcome() == "ended normally");
  REQUIRE(server.outcome() == "ended normally");
}

namespace {

enum class rogue_kind { plain_tcp, tls_without_certificate, other_authority, job_member };

// An actor system outside the job: plain TCP, TLS with no certificate
// (CAF's anonymous cipher), TLS with another authority's certificate, or
// (the control) one of the job's own nodes.
std::unique_ptr<caf::actor_system> outside_system(rogue_kind kind, const local_cluster& cluster,
                                                  const tls_credentials_files& job,
                                                  const tls_credentials_files& other,
                                                  caf::actor_system_config& sc) {
  auto cfg = cluster.node("worker").resolved();
  cfg.secure = 0;
  if (kind == rogue_kind::other_authority)
    other.apply(cfg);
  if (kind == rogue_kind::job_member)
    job.apply(cfg);
  detail::configure_network(sc, cfg);
  if (kind == rogue_kind::tls_without_certificate)
    sc.load<caf::openssl::manager>();
  return std::make_unique<caf::actor_system>(sc);
}

// One try to reach host:port from `sys`; "connected" or the error.
template <class Handle>
std::string reach(caf::actor_system& sys, const std::string& host, uint16_t port, Handle* out) {
  auto h = detail::remote_actor<Handle>(sys, host, port);
  if (!h)
    return sys.render(h.error());
  if (out)
    *out = *h;
  return "connected";
}

}  // namespace

TEST_CASE("peers without a certificate of the job's authority are refused at connect time by "
          "the scheduler and the servers",
          "[dist][tls]") {
  tls_credentials_files job("test job"), other("another authority");
  auto cluster = secure_cluster(1, 1, job);
  node_thread scheduler(cluster.node("scheduler")), server(cluster.node("server"));
  // The control: one of the job's nodes registers as its worker and learns
  // where the server's shard listens.
  caf::actor_system_config member_cfg;
  auto member = outside_system(rogue_kind::job_member, cluster, job, other, member_cfg);
  coordinator_actor coord;
  auto port = static_cast<uint16_t>(cluster.port);
  auto deadline = steady_clock::now() + seconds(10);
  std::string got;
  while ((got = reach(*member, "127.0.0.1", port, &coord)) != "connected" &&
         steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(100));
  REQUIRE(got == "connected");
  auto alive = kvs::detail::spawn_function(*member, [] { return caf::behavior{[](tick_atom) {}}; });
  registration reg;
  caf::scoped_actor self{*member};
  self->request(coord, seconds(10), register_atom::value, node_info{"worker", "127.0.0.1", 0}, alive)
      .receive([&](registration& r) { reg = std::move(r); },
               [&](caf::error& e) { FAIL("registration failed: " << member->render(e)); });
  REQUIRE(reg.servers.size() == 1);
  auto shard_port = reg.servers[0].port;
  shard_actor shard;
  REQUIRE(reach(*member, reg.servers[0].host, shard_port, &shard) == "connected");

  for (auto kind : {rogue_kind::plain_tcp, rogue_kind::tls_without_certificate,
                    rogue_kind::other_authority}) {
    INFO("rogue kind " << static_cast<int>(kind));
    caf::actor_system_config sc;
    auto rogue = outside_system(kind, cluster, job, other, sc);
    // No handle, so no message: no value read or written, no command,
    // no registration, no stop.
    auto t0 = steady_clock::now();
    coordinator_actor rogue_coord;
    CHECK(reach(*rogue, "127.0.0.1", port, &rogue_coord) != "connected");
    CHECK(!rogue_coord);
    shard_actor rogue_shard;
    CHECK(reach(*rogue, "127.0.0.1", shard_port, &rogue_shard) != "connected");
    CHECK(!rogue_shard);
    CHECK(steady_clock::now() - t0 < seconds(10));  // refused, not left hanging
  }
  // The job is untouched: the member ends it as its only worker.
  self->request(coord, seconds(10), done_atom::value, reg.rank)
      .receive([](ok_atom) {}, [&](caf::error& e) { FAIL("done failed: " << member->render(e)); });
  REQUIRE(scheduler.outcome() == "ended normally");
  REQUIRE(server.outcome() == "ended normally");
  caf::anon_send_exit(alive, caf::exit_reason::user_shutdown);
}
