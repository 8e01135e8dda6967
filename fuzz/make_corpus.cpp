// Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/): one
// well-formed input per message kind, so fuzzing starts past the framing.
// Run: cmake --build build --target fuzz_make_corpus &&
//      ./build/fuzz/fuzz_make_corpus fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>

#include "kvs/optimizer.hpp"
#include "kvs/updater_actor.hpp"
#include "messages/cluster_actors.hpp"
#include "messages/shard_actor.hpp"
#include "serialization/state_file.hpp"

using namespace kvs;
namespace fs = std::filesystem;

namespace {

fs::path root;
caf::actor_system* sys = nullptr;  // actor handles are written through one

void write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(root / target);
  std::ofstream out(root / target / name, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The selector byte, then the fields as a peer sends them.
template <class... Ts>
std::string message(uint8_t selector, Ts... fields) {
  std::vector<char> buf;
  caf::binary_serializer sink{*sys, buf};
  if (sink(fields...))
    std::abort();
  return std::string(1, static_cast<char>(selector)) + std::string(buf.begin(), buf.end());
}

part_request request(part_op op, key k, std::vector<array_view> in, std::vector<array_view> out = {}) {
  part_request r;
  r.op = op;
  r.id = part_id{std::move(k), 0};
  r.inputs = std::move(in);
  r.outputs = std::move(out);
  return r;
}

void shard_requests() {
  auto v = ndarray::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  auto sparse = request(part_op::push, key(3), {array_view::whole(v)});
  sparse.sparse = true;
  sparse.rows = {0, 1};
  write("shard_requests", "batch_init_push_pull",
        message(0, part_batch{{request(part_op::init, key(1), {array_view::whole(v)}),
                               request(part_op::push, key("w"), {array_view{v, 1, 4, true}}),
                               request(part_op::pull, key(1), {}, {array_view::destination(v, 0, 6)}),
                               sparse}}));
  // A push from, and a pull into, a worker's shared memory segment.
  array_view in_shm{v, 0, 6, true};
  in_shm.shm = shm_range{7, 64, 24};
  auto landing = array_view::destination(v, 0, 6);
  landing.shm = shm_range{7, 128, 24};
  write("shard_requests", "batch_shm",
        message(0, part_batch{{request(part_op::push, key(1), {in_shm}, {landing})}}));
  write("shard_requests", "shm_announce",
        message(7, shm_announce{{}, 7, 1234, 5, uint64_t{1} << 20, 1, 2}));
  write("shard_requests", "shm_echo", message(8, shm_echo{7, 3, 4}));
  write("shard_requests", "updater_setting", message(1, updater_setting{{}, 2, true}));
  write("shard_requests", "updater_setting_rows", message(1, updater_setting{{}, 2, false, true}));
  key_state ks{key("w"), 1, 7, {ndarray::zeros({2, 3}), ndarray::full({2, 3}, 1.0, dtype::f16)}};
  write("shard_requests", "load_states", message(2, std::vector<key_state>{ks}, true));
  write("shard_requests", "sync", message(3, true));
  write("shard_requests", "worker_down", message(4, int32_t{1}));
  part_result ok{true, 0, "", v};
  part_result failed{false, 6, "key 1: bad", ndarray()};
  part_result rs{true, 0, "", ndarray::row_sparse({4, 3}, {1, 3}, v)};
  part_result rows_taken{true, 0, "", ndarray(), 2};  // a push whose rows were the gradient
  write("shard_requests", "batch_reply", message(5, batch_reply{{ok, failed, rs, rows_taken}}));
  update_request u{key(2), v, v, {v, v}, 3, true, {0, 1}};
  write("shard_requests", "update_request", message(6, u));
}

void cluster_requests() {
  write("cluster_requests", "node_info", message(0, node_info{"server", "127.0.0.1", 9000}));
  write("cluster_requests", "registration",
        message(1, registration{1, 2, 2, 0, {node_info{"server", "10.0.0.1", 9000},
                                             node_info{"server", "10.0.0.2", 9001}}}));
  write("cluster_requests", "rank", message(2, int32_t{1}));
  auto opt = create_optimizer("adam", {{"learning_rate", 0.1}})->serialize();
  write("cluster_requests", "command", message(3, int32_t{0}, opt));
}

void state_files() {
  auto opt = create_optimizer("sgd", {{"momentum", 0.9}});
  detail::state_file f;
  f.has_optimizer = true;
  f.optimizer_bytes = opt->serialize();
  f.keys.push_back(key_state{key(1), 0, 3, {ndarray::full({2, 2}, 0.5)}});
  f.keys.push_back(key_state{key("bias"), 1, 0, {}});
  auto path = (root / "state_file.tmp").string();
  detail::write_state_file(path, f);
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(path);
  write("state_file", "whole_file", std::string(1, '\0') + file);
  write("state_file", "payload", std::string(1, '\1') + file.substr(28));
}

void optimizer_configs() {
  write("optimizer_config", "sgd", create_optimizer("sgd", {{"momentum", 0.9}})->serialize());
  write("optimizer_config", "adam_schedule",
        create_optimizer("adam", {{"learning_rate", 0.1}},
                         {{"lr_scheduler", "multifactor"}, {"step", "100,200"}})
            ->serialize());
}

void environments() {
  // Line: the variable's index (fuzz/environment.cpp), then its value.
  auto line = [](int index, const std::string& value) { return std::string(1, static_cast<char>(index)) + value + "\n"; };
  write("environment", "worker",
        line(0, "worker") + line(1, "127.0.0.1") + line(2, "9091") + line(3, "2") + line(4, "1"));
  write("environment", "server_tuned",
        line(0, "server") + line(1, "10.0.0.1") + line(2, "9091") + line(3, "4") + line(4, "2") +
            line(16, "1048576") + line(17, "2097152") + line(11, "5000") + line(21, "10"));
  write("environment", "bad_number", line(0, "scheduler") + line(2, "70000"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_corpus <corpus folder>\n");
    return 2;
  }
  root = argv[1];
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  sys = &system;
  shard_requests();
  cluster_requests();
  state_files();
  optimizer_configs();
  environments();
  std::printf("seed corpus written under %s\n", argv[1]);
  return 0;
}
