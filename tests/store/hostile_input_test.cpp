// Values from outside the process are checked before anything is allocated
// or written: overflowing shapes, byte counts that lie, arrays above the
// receive cap, optimizer state that does not fit its weight, rows outside
// the weight, bad ranks. Each bad input gets an error naming what was
// wrong, and the next good operation succeeds (docs/security.md).
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "../test_config.hpp"
#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "actors/optimizer_updater.hpp"
#include "core/network.hpp"
#include "messages/errors.hpp"
#include "serialization/state_file.hpp"
#include "shard_driver.hpp"

using namespace kvs;

namespace {

constexpr int64_t huge = (int64_t{1} << 62) | 1;

// The bytes of `fields`, as a peer would send them.
template <class... Ts>
std::vector<char> bytes_of(caf::actor_system& sys, Ts... fields) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(fields...));
  return buf;
}

// Reads a T from `buf`; the error's text, or "" when it was read.
template <class T>
std::string read_error(caf::actor_system& sys, const std::vector<char>& buf, T& out) {
  caf::binary_deserializer source{sys, buf};
  auto err = source(out);
  return err ? std::string(from_caf_error(err, "reading").what()) : std::string();
}

// A dense ndarray on the wire: storage tag, dtype, device, shape, byte count.
std::vector<char> ndarray_header(caf::actor_system& sys, shape dims, uint64_t bytes) {
  return bytes_of(sys, uint8_t{1}, static_cast<uint8_t>(dtype::f32), uint8_t{0}, int32_t{0}, dims,
                  bytes);
}

}  // namespace

TEST_CASE("the public API refuses shapes whose element or byte count overflows",
          "[validation]") {
  require_message([] { ndarray::full({huge}, 1.0); }, errc::invalid_argument,
                  {"more elements than an array can hold"});
  require_message([] { ndarray::zeros({int64_t{1} << 61}); }, errc::invalid_argument,
                  {"an array of shape (2305843009213693952)", "needs more bytes than an array can hold"});
  require_message([] { ndarray::zeros({int64_t{1} << 32, int64_t{1} << 32}); },
                  errc::invalid_argument, {"more elements than an array can hold"});
  require_message([] { ndarray::zeros({int64_t{1} << 40, int64_t{1} << 40}, dtype::u8); },
                  errc::invalid_argument, {"(1099511627776,1099511627776)"});
  require_message([] { ndarray::from_vector<float>({1, 2}, {huge, 2}); },
                  errc::invalid_argument, {"more elements"});
  require_message([] { ndarray::row_sparse({huge, 4}, {}, ndarray::zeros({0, 4})); },
                  errc::invalid_argument, {"more elements"});
  // A zero dimension makes any shape empty, however big the others.
  REQUIRE(ndarray::zeros({0, huge}).size() == 0);
  // And arrays still work.
  REQUIRE(ndarray::full({3}, 2.0).to_vector<float>() == std::vector<float>(3, 2.0f));
}

TEST_CASE("a received array whose shape overflows, or whose byte count lies, is refused before it is allocated",
          "[validation][serialization]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  ndarray out;
  // {2^62+1} of f32 claiming 64 bytes: the product wraps in 64 bits.
  auto wrap = ndarray_header(sys, {huge}, 64);
  wrap.resize(wrap.size() + 64);
  REQUIRE(read_error(sys, wrap, out).find("more elements than an array can hold") != std::string::npos);
  // 1 GiB claimed (and matching its shape), 16 bytes sent.
  auto lie = ndarray_header(sys, {int64_t{1} << 28}, uint64_t{1} << 30);
  lie.resize(lie.size() + 16);
  REQUIRE(read_error(sys, lie, out).find("holds only 16 more") != std::string::npos);
  // A byte count that does not match the shape.
  auto odd = ndarray_header(sys, {4}, 12);
  odd.resize(odd.size() + 12);
  REQUIRE(read_error(sys, odd, out).find("do not match shape (4)") != std::string::npos);
  // A row_sparse array whose row ids lie outside its rows.
  auto sparse = bytes_of(sys, uint8_t{2}, static_cast<uint8_t>(dtype::f32), uint8_t{0}, int32_t{0},
                         shape{3, 1}, std::vector<int64_t>{5});
  auto rows = bytes_of(sys, ndarray::full({1, 1}, 1.0));
  sparse.insert(sparse.end(), rows.begin(), rows.end());
  REQUIRE(read_error(sys, sparse, out).find("outside [0, 3)") != std::string::npos);
  // Sparse headers nested as each other's rows (each level a recursion in a
  // reader that allowed it): refused at the first nested one.
  std::vector<char> nested;
  for (int level = 0; level < 100000; ++level) {
    auto head = bytes_of(sys, uint8_t{2}, static_cast<uint8_t>(dtype::f32), uint8_t{0}, int32_t{0},
                         shape{}, std::vector<int64_t>{});
    nested.insert(nested.end(), head.begin(), head.end());
  }
  REQUIRE(read_error(sys, nested, out).find("rows of a row_sparse array are not dense") !=
          std::string::npos);
  // A view claiming more elements than its shape holds, and one whose bytes are missing.
  array_view v;
  auto view = bytes_of(sys, true, static_cast<uint8_t>(dtype::f32), uint64_t{8}, false, shape{2});
  REQUIRE(read_error(sys, view, v).find("does not hold its 8 elements") != std::string::npos);
  auto short_view = bytes_of(sys, true, static_cast<uint8_t>(dtype::f32), uint64_t{1} << 28,
                             false, shape{int64_t{1} << 28});
  // A shared memory range that does not hold exactly its elements.
  auto odd_range = bytes_of(sys, true, static_cast<uint8_t>(dtype::f32), uint64_t{8}, true,
                            uint32_t{7}, uint64_t{64}, uint64_t{16}, shape{8});
  REQUIRE(read_error(sys, odd_range, v).find("a shared memory range of 16 bytes for 8 elements") !=
          std::string::npos);
  REQUIRE(read_error(sys, short_view, v).find("holds only 0 more") != std::string::npos);
  // The next good array reads exactly.
  auto good = bytes_of(sys, ndarray::from_vector<float>({1, 2, 3}, {3}));
  REQUIRE(read_error(sys, good, out).empty());
  REQUIRE(out.to_vector<float>() == std::vector<float>{1, 2, 3});
}

TEST_CASE("a request carrying an array above the receive cap gets an error naming the cap, and the shard serves on",
          "[validation][server]") {
  caf::actor_system_config cfg;
  caf::put(cfg.content, detail::receive_limit_setting, int64_t{4096});
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  auto shard = spawn_key_shard(sys, reducers, shard_options{});
  caf::scoped_actor self{sys};
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::zeros({4}))})}})
              .results.at(0).ok);
  // A push of 2048 floats (8 KiB), as it arrives from another process.
  auto big = part_batch{{request(part_op::push, 1, {array_view::whole(ndarray::full({2048}, 1.0))})}};
  auto wire = bytes_of(sys, big);
  part_batch arrived;
  REQUIRE(read_error(sys, wire, arrived).empty());
  REQUIRE(arrived.items.at(0).inputs.at(0).array.is_none());  // never allocated
  auto reply = ask(self, shard, arrived);
  INFO(reply.results.at(0).message);
  REQUIRE_FALSE(reply.results.at(0).ok);
  REQUIRE(static_cast<errc>(reply.results[0].code) == errc::invalid_argument);
  REQUIRE(reply.results[0].message.find("above the receiving node's cap of 4096 bytes") !=
          std::string::npos);
  REQUIRE(reply.results[0].message.find("KVS_MAX_RECEIVE_BYTES") != std::string::npos);
  // A push within the cap, through the wire too, and a pull: exact.
  part_batch small;
  REQUIRE(read_error(sys, bytes_of(sys, part_batch{{request(part_op::push, 1, {array_view::whole(
                                                       ndarray::full({4}, 3.0))})}}),
                     small)
              .empty());
  REQUIRE(ask(self, shard, small).results.at(0).ok);
  auto out = ndarray::zeros({4});
  REQUIRE(ask(self, shard, part_batch{{request(part_op::pull, 1, {}, {array_view::whole(out)})}})
              .results.at(0).ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(4, 3.0f));
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  reducers.stop();
}

TEST_CASE("a shard refuses optimizer state that does not fit its weight, keeps the state it had, and updates exactly",
          "[validation][server]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  auto shard = spawn_key_shard(sys, reducers, shard_options{});
  caf::scoped_actor self{sys};
  std::shared_ptr<const optimizer> sgd =
      create_optimizer("sgd", {{"learning_rate", 0.5}, {"momentum", 0.5}});
  updater_setting setting{spawn_optimizer_updater(sys, sgd), sgd->state_arrays(), false};
  bool set = false;
  self->request(shard, std::chrono::seconds(10), updater_atom::value, setting)
      .receive([&](ok_atom) { set = true; }, [](caf::error&) {});
  REQUIRE(set);
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::zeros({4, 2}))})}})
              .results.at(0).ok);
  auto load = [&](std::vector<ndarray> arrays) {
    std::string why;
    std::vector<key_state> states{key_state{key(1), 0, 0, std::move(arrays)}};
    self->request(shard, std::chrono::seconds(10), load_atom::value, states, false)
        .receive([](ok_atom) {}, [&](caf::error& e) { why = from_caf_error(e, "load").what(); });
    return why;
  };
  // The momentum: one f32 (4,2) array. Too small (the updater would write
  // past it), too many, the wrong dtype, row_sparse: each refused by name.
  CHECK(load({ndarray::zeros({2})}).find("state 0 of key 1 is f32(2)") != std::string::npos);
  CHECK(load({ndarray::zeros({4, 2}), ndarray::zeros({4, 2})}).find("gets 2 state arrays; its updater keeps 1") !=
        std::string::npos);
  CHECK(load({ndarray::zeros({4, 2}, dtype::f64)}).find("needs f32(4,2)") != std::string::npos);
  CHECK(load({ndarray::row_sparse({4, 2}, {1}, ndarray::zeros({1, 2}))}).find("(dense)") !=
        std::string::npos);
  // A fitting state loads; then a push updates with it exactly:
  // momentum m = 0.5 * 1 - 0.5 * 2 = -0.5, w = 0 + m = -0.5.
  REQUIRE(load({ndarray::full({4, 2}, 1.0)}).empty());
  REQUIRE(ask(self, shard, part_batch{{request(part_op::push, 1, {array_view::whole(ndarray::full({4, 2}, 2.0))})}})
              .results.at(0).ok);
  auto out = ndarray::zeros({4, 2});
  REQUIRE(ask(self, shard, part_batch{{request(part_op::pull, 1, {}, {array_view::whole(out)})}})
              .results.at(0).ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(8, -0.5f));
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(setting.actor, caf::exit_reason::user_shutdown);
  reducers.stop();
}

TEST_CASE("a shard ignores a worker_down message naming a rank outside the job and serves rounds on",
          "[validation][server]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_options opts;
  opts.num_workers = 1;
  auto shard = spawn_key_shard(sys, reducers, opts);
  caf::scoped_actor self{sys};
  REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::zeros({4}))})}})
              .results.at(0).ok);
  self->send(shard, worker_down_atom::value, int32_t{7});
  self->send(shard, worker_down_atom::value, int32_t{-1});
  auto out = ndarray::zeros({4});
  auto reply = ask(self, shard, part_batch{{request(part_op::push, 1, {array_view::whole(ndarray::full({4}, 2.0))}),
                                            request(part_op::pull, 1, {}, {array_view::whole(out)})}});
  INFO(reply.results.at(0).message);
  REQUIRE(reply.results.at(0).ok);
  REQUIRE(reply.results.at(1).ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(4, 2.0f));
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  reducers.stop();
}

TEST_CASE("a lazy optimizer update refuses rows outside the weight and then updates exactly",
          "[validation][optimizer]") {
  auto sgd = create_optimizer("sgd", {{"learning_rate", 1.0}, {"lazy_update", 1}});
  auto w = ndarray::zeros({4, 2});
  std::vector<ndarray> state;
  auto g = ndarray::full({4, 2}, 1.0);
  for (std::vector<int64_t> rows : {std::vector<int64_t>{4}, {-1}, {2, 1}, {1, 1}, {0, int64_t{1} << 62}}) {
    INFO(rows.size());
    require_message([&] { sgd->update(g, w, state, 1, &rows); }, errc::invalid_argument,
                    {"sorted, unique and below 4"});
  }
  REQUIRE(w.to_vector<float>() == std::vector<float>(8, 0.0f));  // nothing written
  std::vector<int64_t> rows{1, 3};
  sgd->update(g, w, state, 1, &rows);
  REQUIRE(w.to_vector<float>() == std::vector<float>{0, 0, -1, -1, 0, 0, -1, -1});
}

TEST_CASE("state files and optimizer configurations whose sizes lie are refused before allocating",
          "[validation][optimizer]") {
  // A payload claiming a 2^40-byte optimizer configuration.
  std::string payload(1, '\1');
  uint64_t claim = uint64_t{1} << 40;
  payload.append(reinterpret_cast<const char*>(&claim), 8);
  require_message([&] { detail::parse_state_payload(payload, "the file"); }, errc::corrupt_file,
                  {"the file has bad contents: claims 1099511627776 optimizer configuration bytes"});
  // An array of shape {2^62+1} claiming 64 bytes.
  auto opt = create_optimizer("sgd")->serialize();
  std::string p2(1, '\0');
  uint64_t zero = 0, one = 1, dims = 1, bytes = 64;
  int64_t dim = huge, k = 3;
  uint32_t part = 0;
  auto put = [&](const void* v, size_t n) { p2.append(static_cast<const char*>(v), n); };
  put(&zero, 8);  // no optimizer bytes
  put(&one, 8);   // one key
  p2 += '\0';     // an int key...
  put(&k, 8);     // ...3
  put(&part, 4);
  put(&zero, 8);  // count
  put(&one, 8);   // one array
  p2 += static_cast<char>(dtype::f32);
  put(&dims, 8);
  put(&dim, 8);
  put(&bytes, 8);
  p2.append(64, '\0');
  require_message([&] { detail::parse_state_payload(p2, "the file"); }, errc::corrupt_file,
                  {"more elements than an array can hold"});
  // An optimizer configuration whose name claims 2^60 characters.
  std::string cfg = opt.substr(0, 4);
  claim = uint64_t{1} << 60;
  cfg.append(reinterpret_cast<const char*>(&claim), 8);
  require_message([&] { optimizer::deserialize(cfg); }, errc::corrupt_file,
                  {"optimizer configuration claims 1152921504606846976 name characters"});
  require_message([&] { optimizer::deserialize(opt + "x"); }, errc::corrupt_file,
                  {"1 bytes after its options"});
  // The good ones read back.
  REQUIRE(optimizer::deserialize(opt)->name() == "sgd");
}

TEST_CASE("KVS_MAX_RECEIVE_BYTES is parsed strictly and may not be below max_message_bytes",
          "[validation][config]") {
  config c = test_config();
  REQUIRE(c.resolved().max_receive_bytes == int64_t{1} << 30);
  c.max_message_bytes = int64_t{1} << 31;
  REQUIRE(c.resolved().max_receive_bytes == int64_t{1} << 31);  // the default follows it
  c.max_receive_bytes = 4096;
  require_message([&] { c.resolved(); }, errc::invalid_config,
                  {"KVS_MAX_RECEIVE_BYTES", "below max_message_bytes"});
  c.max_message_bytes = 4096;
  REQUIRE(c.resolved().max_receive_bytes == 4096);
}

TEST_CASE("host names from the environment or the config must be printable without spaces",
          "[validation][config]") {
  config c = test_config();
  c.node_host = "10.0.0.1; rm";
  require_message([&] { c.resolved(); }, errc::invalid_config, {"DMLC_NODE_HOST", "not a host name"});
  c.node_host = "node-1.example";
  c.root_uri = std::string(300, 'a');
  require_message([&] { c.resolved(); }, errc::invalid_config, {"DMLC_PS_ROOT_URI"});
  c.root_uri = "10.0.0.2";
  REQUIRE(c.resolved().node_host == "node-1.example");
}
