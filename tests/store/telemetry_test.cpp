#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "../dist/local_cluster.hpp"
#include "../test_config.hpp"

using namespace kvs;

namespace {

nlohmann::json read_trace(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// The stage names of key `k`'s events, with their bytes.
std::multiset<std::string> stages_of(const nlohmann::json& trace, const std::string& k) {
  std::multiset<std::string> out;
  for (auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["args"]["key"] == k)
      out.insert(e["name"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("stats count the packed bytes under gradient compression", "[telemetry][compression]") {
  auto kv = create("device", test_config());
  compression c{"2bit", 0.5};
  c.compress_pull = true;
  kv->set_gradient_compression(c);
  kv->init(1, ndarray::zeros({32}));  // 128 bytes, never compressed
  std::vector<ndarray> grads;
  for (int d = 0; d < 4; ++d)
    grads.push_back(ndarray::full({32}, 1.0, dtype::f32, cpu(d)));
  kv->pushpull(1, grads, std::vector<ndarray>{ndarray::zeros({32})});
  kv->wait_all();
  auto k = kv->stats().keys.at(0).second;
  REQUIRE(k.bytes_out == 128 + 4 * 8);  // 32 values in 2 bits: 8 bytes per device
  REQUIRE(k.bytes_in == 8);             // the packed sum
}

TEST_CASE("stats count operations, bytes and rounds per key and in total", "[telemetry]") {
  auto kv = create("local", test_config());
  REQUIRE(kv->stats().total.operations == 0);
  kv->init(std::vector<key>{3, 5}, {ndarray::zeros({2, 3}), ndarray::zeros({4}, dtype::f64)});
  std::vector<ndarray> grads;
  for (int d = 0; d < 4; ++d)
    grads.push_back(ndarray::full({2, 3}, 1.0, dtype::f32, cpu(d)));
  kv->push(3, grads);
  auto out = ndarray::zeros({2, 3});
  kv->pull(3, std::vector<ndarray>{out, ndarray::zeros({2, 3})});
  kv->pushpull(5, ndarray::full({4}, 2.0, dtype::f64), ndarray::zeros({4}, dtype::f64));
  kv->wait_all();
  auto st = kv->stats();
  REQUIRE(st.keys.size() == 2);
  REQUIRE(st.keys[0].first == key(3));
  auto& k3 = st.keys[0].second;
  REQUIRE(k3.operations == 3);         // init, push, pull
  REQUIRE(k3.bytes_out == 24 + 4 * 24);  // the init value, then four device arrays
  REQUIRE(k3.bytes_in == 2 * 24);      // two outputs
  REQUIRE(k3.rounds == 1);
  auto& k5 = st.keys[1].second;
  REQUIRE(k5.operations == 2);
  REQUIRE(k5.bytes_out == 32 + 32);
  REQUIRE(k5.bytes_in == 32);
  REQUIRE(k5.rounds == 1);
  REQUIRE(st.total.operations == 5);
  REQUIRE(st.total.bytes_out == k3.bytes_out + k5.bytes_out);
  REQUIRE(st.total.bytes_in == k3.bytes_in + k5.bytes_in);
  REQUIRE(st.total.rounds == 2);
}

TEST_CASE("KVS_TIMELINE writes a Chrome trace of every stage of every key", "[telemetry]") {
  std::string path = "timeline_local_test.json";
  std::remove(path.c_str());
  {
    auto cfg = test_config();
    cfg.timeline = path;
    auto kv = create("local", cfg);
    kv->init("w", ndarray::zeros({8}));
    kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.1}}));
    std::vector<ndarray> grads{ndarray::full({8}, 1.0, dtype::f32, cpu(0)),
                               ndarray::full({8}, 1.0, dtype::f32, cpu(1))};
    kv->pushpull("w", grads, std::vector<ndarray>{ndarray::zeros({8}), ndarray::zeros({8})});
    kv->wait_all();
  }  // written when the store ends
  auto trace = read_trace(path);
  auto stages = stages_of(trace, "\"w\"");
  INFO(trace.dump());
  // the worker: init and pushpull queued, on the wire, done; the shard: the
  // pushpull's round and its update
  REQUIRE(stages.count("queued") == 2);
  REQUIRE(stages.count("on the wire") == 2);
  REQUIRE(stages.count("done") == 2);
  REQUIRE(stages.count("round") == 1);
  REQUIRE(stages.count("update") == 1);
  // Each span carries its operation's bytes: the key's (32) for the init
  // and the shard's spans; every array it moves for the pushpull's spans on
  // the worker (2 inputs and 2 outputs, as the dispatch window counts them).
  int whole_pushpull = 0;
  for (auto& e : trace["traceEvents"])
    if (e["ph"] == "X") {
      auto bytes = e["args"]["bytes"].get<int64_t>();
      REQUIRE((bytes == 32 || bytes == 4 * 32));
      whole_pushpull += bytes == 4 * 32 ? 1 : 0;
      REQUIRE(e["dur"].get<int64_t>() >= 0);
      REQUIRE(e["dur"].get<int64_t>() < 60'000'000);  // this test takes well under a minute
    }
  REQUIRE(whole_pushpull == 3);  // queued, on the wire, done
  bool named = false;
  for (auto& e : trace["traceEvents"])
    named = named || (e["name"] == "thread_name" && e["args"]["name"] == "key \"w\"");
  REQUIRE(named);
  std::remove(path.c_str());
}

TEST_CASE("without KVS_TIMELINE no trace is written", "[telemetry]") {
  std::remove("timeline_off_test.json");
  {
    auto kv = create("local", test_config());
    kv->init(1, ndarray::zeros({2}));
    kv->wait_all();
  }
  REQUIRE_FALSE(std::ifstream("timeline_off_test.json").good());
}

TEST_CASE("KVS_LOG info reports the store's creation, warn (the default) does not",
          "[telemetry]") {
  cerr_capture cap;
  {
    auto cfg = test_config();
    auto quiet = create("local", cfg);
    cfg.log_level = "info";
    auto loud = create("local", cfg);
    auto back = test_config();
    back.log_level = "warn";
    auto again = create("local", back);
  }
  REQUIRE(cap.lines_with("kvs: store \"local\" created") == 1);
}

TEST_CASE("a bad KVS_LOG level fails with invalid_config naming it", "[telemetry]") {
  auto cfg = test_config();
  cfg.log_level = "verbose";
  require_message([&] { create("local", cfg); }, errc::invalid_config, {"KVS_LOG", "verbose"});
}

TEST_CASE("a dist_sync job writes one timeline per worker and server", "[dist][telemetry]") {
  for (auto f : {"tl_dist.worker0.json", "tl_dist.worker1.json", "tl_dist.server0.json"})
    std::remove(f);
  local_cluster cluster{2, 1};
  cluster.settings = [](config& c) { c.timeline = "tl_dist.json"; };
  cluster.run("dist_sync", [](kvstore& kv) {
    kv.init(7, ndarray::zeros({16}));
    kv.set_optimizer(create_optimizer("test", {{"rescale_grad", 1}}));
    kv.pushpull(7, ndarray::full({16}, 1.0), ndarray::zeros({16}));
    kv.wait_all();
    auto st = kv.stats();
    EXPECT(st.total.rounds == 1);
    EXPECT(st.total.bytes_in == 64);
  });
  // rank 0 sends the init and the pushpull; rank 1 only its pushpull (its
  // init waits for rank 0's value)
  REQUIRE(stages_of(read_trace("tl_dist.worker0.json"), "7").count("on the wire") == 2);
  auto w1 = stages_of(read_trace("tl_dist.worker1.json"), "7");
  REQUIRE(w1.count("on the wire") == 1);
  REQUIRE(w1.count("pre-sum") == 0);  // one array: nothing to sum
  auto server = stages_of(read_trace("tl_dist.server0.json"), "7");
  REQUIRE(server.count("round") == 1);
  REQUIRE(server.count("update") == 1);
  for (auto f : {"tl_dist.worker0.json", "tl_dist.worker1.json", "tl_dist.server0.json"})
    std::remove(f);
}
