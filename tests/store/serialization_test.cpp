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
