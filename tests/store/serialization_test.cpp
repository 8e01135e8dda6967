#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "../test_config.hpp"
#include "messages/shard_actor.hpp"

using namespace kvs;

namespace {
template <class T>
T round_trip(caf::actor_system& sys, T value) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(value));
  T out;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(out));
  return out;
}
}  // namespace

TEST_CASE("ndarrays cross the wire as their bytes, into fresh storage", "[serialization]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = ndarray::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}, cpu(2));
  auto b = round_trip(sys, a);
  REQUIRE(b.shape() == shape{2, 3});
  REQUIRE(b.dtype() == dtype::f32);
  REQUIRE(b.to_vector<float>() == a.to_vector<float>());
  REQUIRE_FALSE(b.same_storage(a));
  auto rs = ndarray::row_sparse({5, 2}, {1, 4}, ndarray::from_vector<int64_t>({1, 2, 3, 4}, {2, 2}));
  auto rs2 = round_trip(sys, rs);
  REQUIRE(rs2.storage() == storage::row_sparse);
  REQUIRE(rs2.row_ids() == std::vector<int64_t>{1, 4});
  REQUIRE(rs2.to_vector<int64_t>() == rs.to_vector<int64_t>());
  REQUIRE(round_trip(sys, ndarray()).is_none());
}

TEST_CASE("shard requests round-trip, sending only the viewed range", "[serialization]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto big = ndarray::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
  part_request m;
  m.op = part_op::push;
  m.id = part_id{key("w"), 1};
  m.worker = 3;
  m.inputs = {array_view{big, 2, 3, true}, array_view::whole(big)};
  m.outputs = {array_view::destination(big, 2, 3)};
  m.sparse = true;
  m.rows = {1};
  auto back = round_trip(sys, part_batch{{m}}).items.at(0);
  REQUIRE(back.id.key == key("w"));
  REQUIRE(back.id.part == 1);
  REQUIRE(back.worker == 3);
  REQUIRE(back.inputs.size() == 2);
  // A range arrives as a fresh array of just that range.
  REQUIRE(back.inputs[0].offset == 0);
  REQUIRE(back.inputs[0].count == 3);
  REQUIRE(back.inputs[0].array.to_vector<float>() == std::vector<float>{2, 3, 4});
  // A whole array keeps its shape.
  REQUIRE(back.inputs[1].array.shape() == shape{2, 4});
  // A destination sends its size only.
  REQUIRE(back.outputs.at(0).count == 3);
  REQUIRE(back.outputs[0].array.is_none());
  REQUIRE(back.rows == std::vector<int64_t>{1});
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(part_batch{{m}}));
  REQUIRE(buf.size() < 3 * 4 + 8 * 4 + 200);  // the 8-element range is not sent twice
}

TEST_CASE("row ids travel as one block; a count the message does not hold is refused before "
          "allocating",
          "[serialization]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  part_request m;
  m.op = part_op::pull_rows;
  m.id = part_id{key(4), 0};
  for (int64_t r = 0; r < 5000; ++r)
    m.rows.push_back(r * 199 + (int64_t{1} << 40));
  REQUIRE(round_trip(sys, part_batch{{m}}).items.at(0).rows == m.rows);
  REQUIRE(round_trip(sys, part_batch{{part_request{}}}).items.at(0).rows.empty());
  auto load = [&](std::vector<char> buf) {
    std::vector<int64_t> ids;
    caf::binary_deserializer source{sys, buf};
    return load_row_ids(source, ids);
  };
  // The count, then bytes for fewer ids; a count whose bytes overflow; one
  // far above what the message holds (never allocated: no bad_alloc).
  for (uint64_t n : {uint64_t{3}, uint64_t{1} << 61, uint64_t{1} << 40}) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE_FALSE(sink(n, int64_t{1}, int64_t{2}));
    INFO(n);
    REQUIRE(load(buf));
  }
}

TEST_CASE("a truncated ndarray is refused, not read past its end", "[serialization]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ndarray a = ndarray::full({100}, 1.0);
  REQUIRE_FALSE(sink(a));
  buf.resize(buf.size() / 2);
  ndarray out;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(source(out));
}

TEST_CASE("an ndarray with an unknown dtype code or a negative device id is refused, naming which",
          "[serialization][validation]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> good;
  caf::binary_serializer sink{sys, good};
  REQUIRE_FALSE(sink(ndarray::full({4}, 1.0)));
  // tag, dtype, device kind, device id (int32), then the shape
  auto read = [&](size_t at, std::vector<uint8_t> bytes) {
    auto b = good;
    for (size_t i = 0; i < bytes.size(); ++i)
      b[at + i] = static_cast<char>(bytes[i]);
    ndarray out;
    caf::binary_deserializer source{sys, b};
    auto err = source(out);
    return err ? std::string(from_caf_error(err, "reading").what()) : std::string();
  };
  REQUIRE(read(0, {}).empty());
  auto dtype_err = read(1, {9});
  INFO(dtype_err);
  REQUIRE(dtype_err.find("ndarray: unknown dtype 9") != std::string::npos);
  auto device_err = read(3, {0xff, 0xff, 0xff, 0xff});
  INFO(device_err);
  REQUIRE(device_err.find("ndarray: device id -1 is negative") != std::string::npos);
}

namespace {
// A push of a {2,3} float array whose value and answer lie in shared memory
// (segment 3): the request every part of a batch of small keys is.
part_request shm_push() {
  auto a = ndarray::zeros({2, 3});
  part_request m;
  m.op = part_op::push;
  m.id = part_id{key(5), 2};
  m.worker = 1;
  m.inputs = {array_view::whole(a)};
  m.inputs[0].shm = shm_range{3, 128, 24};
  m.outputs = {array_view::destination(a, 0, 6)};
  m.outputs[0].shm = shm_range{3, 256, 24};
  return m;
}

// The bytes of a batch holding `m`.
std::vector<char> batch_bytes(caf::actor_system& sys, const part_request& m) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(part_batch{{m}}));
  return buf;
}

// Reading a batch from `buf`: the error's text, or "" when it was read.
std::string batch_error(caf::actor_system& sys, const std::vector<char>& buf) {
  part_batch out;
  caf::binary_deserializer source{sys, buf};
  auto err = source(out);
  return err ? std::string(from_caf_error(err, "reading").what()) : std::string();
}

// The compact form's size (serialization/part_request_inspect.cpp): the
// form byte, the head, one input with its dims, one output range.
constexpr size_t compact_bytes = 1 + 19 + (29 + 1 + 32) + 29;
}  // namespace

TEST_CASE("a plain push with its values in shared memory travels compact and arrives as sent",
          "[serialization][shm]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto m = shm_push();
  auto buf = batch_bytes(sys, m);
  REQUIRE(buf.size() <= compact_bytes + 4);  // the batch's size, then one compact request
  auto back = round_trip(sys, part_batch{{m}}).items.at(0);
  REQUIRE(back.op == part_op::push);
  REQUIRE(back.id.key == key(5));
  REQUIRE(back.id.part == 2);
  REQUIRE(back.worker == 1);
  REQUIRE(back.inputs.size() == 1);
  auto& in = back.inputs[0];
  REQUIRE(in.array.is_none());  // resolved by the shard, against the key
  REQUIRE(in.carries_data);
  REQUIRE(in.count == 6);
  REQUIRE(in.shm.segment == 3);
  REQUIRE(in.shm.offset == 128);
  REQUIRE(in.shm.bytes == 24);
  REQUIRE(in.shm.dims == shape{2, 3});
  REQUIRE(in.shm.type == dtype::f32);
  auto& out = back.outputs.at(0);
  REQUIRE_FALSE(out.carries_data);
  REQUIRE(out.count == 6);
  REQUIRE(out.shm.offset == 256);
  REQUIRE(out.shm.bytes == 24);
  // A pull (no input) too; a string key, rows or a failure travel field by field.
  m.op = part_op::pull;
  m.inputs.clear();
  auto pull = round_trip(sys, part_batch{{m}}).items.at(0);
  REQUIRE(pull.op == part_op::pull);
  REQUIRE(pull.inputs.empty());
  REQUIRE(pull.outputs.at(0).shm.offset == 256);
  auto named = shm_push();
  named.id.key = key("w");
  REQUIRE(batch_bytes(sys, named).size() > compact_bytes + 4);
  REQUIRE(round_trip(sys, part_batch{{named}}).items.at(0).inputs.at(0).shm.dims == shape{2, 3});
}

TEST_CASE("a request with any field the compact form leaves out travels field by field, that "
          "field intact",
          "[serialization][shm]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto full = [&](part_request m) {
    REQUIRE(batch_bytes(sys, m).size() > compact_bytes + 4);
    return round_trip(sys, part_batch{{m}}).items.at(0);
  };
  auto m = shm_push();
  m.sparse = true;
  m.rows = {1, 4};
  auto back = full(m);
  REQUIRE(back.sparse);
  REQUIRE(back.rows == std::vector<int64_t>{1, 4});
  m = shm_push();
  m.row_len = 3;
  REQUIRE(full(m).row_len == 3);
  m = shm_push();
  m.on_gpu = true;
  m.gpu_id = 2;
  back = full(m);
  REQUIRE(back.on_gpu);
  REQUIRE(back.gpu_id == 2);
  m = shm_push();
  m.failed = true;
  m.failed_code = 7;
  m.failed_why = "pre-sum";
  back = full(m);
  REQUIRE(back.failed);
  REQUIRE(back.failed_code == 7);
  REQUIRE(back.failed_why == "pre-sum");
  m = shm_push();
  m.codec = 1;
  REQUIRE(full(m).codec == 1);
  m = shm_push();
  m.outputs.push_back(m.outputs.at(0));
  REQUIRE(full(m).outputs.size() == 2);
  m = shm_push();
  m.op = part_op::init;
  REQUIRE(full(m).op == part_op::init);
}

TEST_CASE("a compact request that lies about its operation, sizes or shape is refused, naming what",
          "[serialization][validation][shm]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto good = batch_bytes(sys, shm_push());
  REQUIRE(batch_error(sys, good).empty());
  auto form = good.size() - compact_bytes;  // where the request starts
  auto head = form + 1, input = head + 19, output = input + 62;
  auto with = [&](size_t at, std::vector<uint8_t> bytes) {
    auto b = good;
    for (size_t i = 0; i < bytes.size(); ++i)
      b[at + i] = static_cast<char>(bytes[i]);
    return batch_error(sys, b);
  };
  auto has = [](const std::string& text, const char* what) {
    INFO(text);
    return text.find(what) != std::string::npos;
  };
  REQUIRE(has(with(form, {7}), "unknown form 7"));
  REQUIRE(has(with(head, {0}), "operation 0 in the compact form"));  // init
  REQUIRE(has(with(head + 17, {2}), "2 inputs and 1 outputs"));
  REQUIRE(has(with(input, {9}), "unknown dtype 9"));
  // 25 bytes claimed for 6 floats (the range's byte count: dtype, count, segment, offset before it)
  REQUIRE(has(with(input + 1 + 8 + 4 + 8, {25, 0, 0, 0, 0, 0, 0, 0}), "range of 25 bytes for 6 elements"));
  REQUIRE(has(with(input + 29, {5}), "rank 5 in the compact form"));
  REQUIRE(has(with(input + 30, {3}), "shape (3,3) does not hold its 6 elements"));
  // an element count whose bytes overflow
  REQUIRE_FALSE(with(output + 1, {0, 0, 0, 0, 0, 0, 0, 0x40}).empty());
  auto cut = good;
  cut.resize(cut.size() - 10);
  REQUIRE_FALSE(batch_error(sys, cut).empty());
}

TEST_CASE("a plain ok answer travels as one byte; others field by field; an unknown form is refused",
          "[serialization][validation]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto bytes = [&](const part_result& r) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE_FALSE(sink(r));
    return buf;
  };
  REQUIRE(bytes(part_result{}).size() == 1);
  auto ok = round_trip(sys, part_result{});
  REQUIRE(ok.ok);
  REQUIRE(ok.value.is_none());
  part_result failed;
  failed.ok = false;
  failed.code = static_cast<uint8_t>(errc::shape_mismatch);
  failed.message = "key 3: wrong shape";
  auto back = round_trip(sys, failed);
  REQUIRE_FALSE(back.ok);
  REQUIRE(back.code == failed.code);
  REQUIRE(back.message == failed.message);
  part_result valued;
  valued.value = ndarray::full({3}, 2.0);
  valued.gradient_rows = 4;
  auto v = round_trip(sys, valued);
  REQUIRE(v.ok);
  REQUIRE(v.value.to_vector<float>() == std::vector<float>(3, 2.0f));
  REQUIRE(v.gradient_rows == 4);
  auto buf = bytes(part_result{});
  buf[0] = 2;
  part_result out;
  caf::binary_deserializer source{sys, buf};
  auto err = source(out);
  REQUIRE(err);
  REQUIRE(std::string(from_caf_error(err, "reading").what()).find("unknown form 2") !=
          std::string::npos);
}
