// Part planning on its own: what shard requests one operation becomes.
#include <catch2/catch.hpp>

#include <kvs/kvs.hpp>

#include "actors/part_planner.hpp"

using namespace kvs;
using detail::part_options;
using detail::plan_parts;

namespace {
operation make(op_kind kind, const key& k, std::vector<ndarray> in, std::vector<ndarray> out) {
  operation op;
  op.kind = kind;
  op.key = k;
  op.inputs = std::move(in);
  op.outputs = out;
  op.landing = std::move(out);
  return op;
}
}  // namespace

TEST_CASE("a small key goes whole to the shard MXNet's hash names", "[planner]") {
  auto g = ndarray::zeros({4});
  auto op = make(op_kind::push, 7, {g, g}, {});
  auto parts = plan_parts(op, op.inputs, part_options{3, 1, 100, 0});
  REQUIRE(parts.size() == 1);
  REQUIRE(parts[0].range.shard == (7 * 9973) % 3);
  auto& r = parts[0].request;
  REQUIRE(r.op == part_op::push);
  REQUIRE(r.worker == 1);
  REQUIRE(r.inputs.size() == 2);
  REQUIRE(r.inputs[0].count == 4);
  REQUIRE(r.outputs.empty());
}

TEST_CASE("a big key is cut into one part per shard, each with its range", "[planner]") {
  auto w = ndarray::zeros({10});
  auto op = make(op_kind::pushpull, 1, {w}, {w});
  auto parts = plan_parts(op, op.inputs, part_options{3, 0, 10, 0});
  REQUIRE(parts.size() == 3);
  uint64_t next = 0;
  for (uint32_t i = 0; i < 3; ++i) {
    REQUIRE(parts[i].range.shard == i);
    REQUIRE(parts[i].range.offset == next);
    REQUIRE(parts[i].request.id.part == i);
    REQUIRE(parts[i].request.inputs.at(0).offset == next);
    REQUIRE(parts[i].request.outputs.at(0).count == parts[i].range.count);
    REQUIRE_FALSE(parts[i].request.outputs[0].carries_data);
    next += parts[i].range.count;
  }
  REQUIRE(next == 10);
}

TEST_CASE("a push sends what it is given (the local sum), a pull sends nothing", "[planner]") {
  auto a = ndarray::zeros({4});
  auto b = ndarray::zeros({4});
  auto sum = ndarray::zeros({4});
  auto push = make(op_kind::push, 2, {a, b}, {});
  auto parts = plan_parts(push, {sum}, part_options{1, 0, 0, 0});
  REQUIRE(parts.at(0).request.inputs.size() == 1);
  REQUIRE(parts[0].request.inputs[0].array.same_storage(sum));
  auto pull = make(op_kind::pull, 2, {}, {a});
  parts = plan_parts(pull, {}, part_options{1, 0, 0, 0});
  REQUIRE(parts.at(0).request.op == part_op::pull);
  REQUIRE(parts[0].request.inputs.empty());
  REQUIRE(parts[0].request.outputs.size() == 1);
}

TEST_CASE("pulled values land in the landing arrays, not the caller's outputs", "[planner]") {
  auto out = ndarray::zeros({4}, dtype::f32);
  auto land = ndarray::zeros({4}, dtype::f16);
  operation op = make(op_kind::pull, 3, {}, {land});
  op.outputs = {out};
  auto parts = plan_parts(op, {}, part_options{1, 0, 0, 0});
  REQUIRE(parts.at(0).request.outputs.at(0).array.same_storage(land));
}

TEST_CASE("parts above max_part_bytes are cut into chunks on the same shard", "[planner]") {
  auto w = ndarray::zeros({100});
  auto op = make(op_kind::push, 5, {w}, {});
  auto parts = plan_parts(op, op.inputs, part_options{2, 0, 10, 40 * 4});
  uint64_t total = 0;
  for (auto& p : parts) {
    REQUIRE(p.range.count <= 40);
    total += p.range.count;
  }
  REQUIRE(total == 100);
  REQUIRE(parts.size() >= 4);
}
