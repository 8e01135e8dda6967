// Row ranges: a key initialized row_sparse is split between rows, and a
// row_sparse push or pull of rows asks each shard only for its rows.
#include <catch2/catch.hpp>

#include <cmath>

#include "actors/part_planner.hpp"
#include "core/array_impl.hpp"
#include "core/element.hpp"
#include "core/row_ops.hpp"
#include "core/sharding.hpp"

using namespace kvs;
using detail::part_options;
using detail::plan_parts;

TEST_CASE("a key split by rows never cuts a row, and splits unevenly as MXNet rounds", "[planner][sparse]") {
  // 10 rows of 3 over 3 shards: rows [0, 3), [3, 7), [7, 10).
  auto parts = detail::partition(key(1), 30, 3, 20, 0, 3);
  REQUIRE(parts.size() == 3);
  REQUIRE(parts[0].offset == 0);
  REQUIRE(parts[0].count == 9);
  REQUIRE(parts[1].offset == 9);
  REQUIRE(parts[1].count == 12);
  REQUIRE(parts[2].offset == 21);
  REQUIRE(parts[2].count == 9);
  // Chunks hold whole rows too: at most 7 elements -> 2 rows of 3.
  for (auto& p : detail::partition(key(1), 30, 2, 20, 7, 3)) {
    REQUIRE(p.offset % 3 == 0);
    REQUIRE(p.count % 3 == 0);
  }
  // Without row_len, MXNet's split by elements (1211 x 1211 on 2 at 733,261).
  REQUIRE(detail::partition(key(9), 1211 * 1211, 2, 1000000)[0].count == 733261);
}

TEST_CASE("a row_sparse push sends each shard only its rows, counted from the part's first row", "[planner][sparse]") {
  operation op;
  op.kind = op_kind::push;
  op.key = 4;
  op.row_split = 3;
  op.sparse = true;
  op.rows = {1, 3, 4, 9};
  auto value = ndarray::row_sparse({10, 3}, op.rows, ndarray::zeros({4, 3}));
  op.inputs = {value};
  auto rows = ndarray::zeros({4, 3});
  auto parts = plan_parts(op, {rows}, part_options{3, 0, 20, 0});
  REQUIRE(parts.size() == 3);  // every shard gets a push, even an empty one
  REQUIRE(parts[0].request.rows == std::vector<int64_t>{1});
  REQUIRE(parts[0].request.inputs.at(0).offset == 0);
  REQUIRE(parts[0].request.inputs.at(0).count == 3);
  REQUIRE(parts[1].request.rows == std::vector<int64_t>{0, 1});  // rows 3, 4 of [3, 7)
  REQUIRE(parts[1].request.inputs.at(0).offset == 3);
  REQUIRE(parts[1].request.inputs.at(0).count == 6);
  REQUIRE(parts[2].request.rows == std::vector<int64_t>{2});  // row 9 of [7, 10)
  REQUIRE(parts[2].request.inputs.at(0).offset == 9);
  for (auto& p : parts)
    REQUIRE(p.request.sparse);
  op.rows = {};
  parts = plan_parts(op, {ndarray::zeros({0, 3})}, part_options{3, 0, 20, 0});
  REQUIRE(parts.size() == 3);
  REQUIRE(parts[1].request.rows.empty());
  REQUIRE(parts[1].request.inputs.at(0).count == 0);
}

TEST_CASE("a pull of rows asks only the shards that hold them, landing one after another", "[planner][sparse]") {
  operation op;
  op.kind = op_kind::pull;
  op.key = 4;
  op.row_split = 3;
  op.select_rows = true;
  op.rows = {7, 8};
  auto out = ndarray::row_sparse({10, 3}, {}, ndarray::zeros({0, 3}));
  auto landing = ndarray::zeros({2, 3});
  op.outputs = {out};
  op.landing = {out};
  REQUIRE(detail::parts_hold_whole_rows(op, part_options{3, 0, 20, 0}));
  op.landing = {landing};
  auto parts = plan_parts(op, {}, part_options{3, 0, 20, 0});
  REQUIRE(parts.size() == 1);
  REQUIRE(parts[0].range.shard == 2);
  REQUIRE(parts[0].request.op == part_op::pull_rows);
  REQUIRE(parts[0].request.rows == std::vector<int64_t>{0, 1});
  REQUIRE(parts[0].request.outputs.at(0).offset == 0);
  REQUIRE(parts[0].request.outputs.at(0).count == 6);
  op.rows = {2, 3};
  parts = plan_parts(op, {}, part_options{3, 0, 20, 0});
  REQUIRE(parts.size() == 2);
  REQUIRE(parts[1].range.offset == 3);  // row 3 lands second
  // A dense key split by elements holds no whole rows.
  op.row_split = 0;
  op.landing = {out};
  REQUIRE_FALSE(detail::parts_hold_whole_rows(op, part_options{3, 0, 20, 0}));
}

TEST_CASE("row ids are made sorted and unique and checked against the key", "[sparse]") {
  auto ids = ndarray::from_vector<int32_t>({5, 1, 5, 0}, {2, 2});
  REQUIRE(detail::unique_row_ids(ids, 6, "x") == std::vector<int64_t>{0, 1, 5});
  REQUIRE_THROWS_AS(detail::unique_row_ids(ids, 5, "x"), kvs::error);
  REQUIRE_THROWS_AS(detail::unique_row_ids(ndarray::from_vector<float>({1}, {1}), 5, "x"), kvs::error);
  REQUIRE_THROWS_AS(detail::check_row_ids({1, 1}, 5, "x"), kvs::error);
  REQUIRE_THROWS_AS(detail::check_row_ids({-1}, 5, "x"), kvs::error);
  detail::check_row_ids({0, 4}, 5, "x");
}

TEST_CASE("row ids written into a reused vector keep none of its old ids", "[sparse]") {
  // The worker hands these functions the ids vector of a finished operation.
  std::vector<int64_t> stale{9, 8, 7, 6, 5, 4, 3};
  auto ids = ndarray::from_vector<int64_t>({4, 2, 2}, {3});
  REQUIRE(detail::unique_row_ids(ids, 6, "x", stale) == std::vector<int64_t>{2, 4});
  auto grad = ndarray::row_sparse({6, 2}, {1, 3}, ndarray::from_vector<float>({1, 2, 3, 4}, {2, 2}));
  auto [summed, rows] = detail::sum_row_sparse({grad}, stale);
  REQUIRE(summed == std::vector<int64_t>{1, 3});
  REQUIRE(rows.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
}

TEST_CASE("a gather of host rows copies runs and single rows in order from an offset on", "[sparse]") {
  // 40 rows of 3: element (r, c) = 10 r + c. More ids than the prefetch
  // distance, runs of consecutive ids among single ones, a run at the end.
  std::vector<float> table(120);
  for (size_t i = 0; i < table.size(); ++i)
    table[i] = static_cast<float>(i / 3 * 10 + i % 3);
  auto src = ndarray::from_vector(table, {40, 3});
  std::vector<int64_t> ids{0, 1, 2, 5, 9, 10, 11, 12, 17, 20, 23, 24, 30, 31, 36, 37, 38, 39};
  auto dst = ndarray::full({20, 3}, -1.0);
  detail::gather_rows(src, ids, 3, dst, 6);  // from row 2 of dst on
  auto got = dst.to_vector<float>();
  for (size_t i = 0; i < 6; ++i)
    REQUIRE(got[i] == -1);  // before the offset: untouched
  for (size_t i = 0; i < ids.size(); ++i)
    for (size_t c = 0; c < 3; ++c)
      REQUIRE(got[6 + i * 3 + c] == static_cast<float>(ids[i] * 10 + static_cast<int64_t>(c)));
  REQUIRE_THROWS_AS(detail::gather_rows(src, ids, 3, dst, 7), kvs::error);  // too few rows left
  REQUIRE_THROWS_AS(detail::gather_rows(src, {40}, 3, dst, 0), kvs::error);  // no row 40
}

namespace {

ndarray of_type(const std::vector<double>& v, kvs::shape s, dtype t) {
  auto a = detail::make_uninitialized(std::move(s), t);
  for (size_t i = 0; i < v.size(); ++i)
    detail::store_element(detail::ndarray_access::raw(a), t, i, v[i]);
  return a;
}

// Three row_sparse values of 6 x 2 with overlapping and disjoint rows, in
// dtype `t`; row 1 takes 1e8, -1e8 and 1 in that order (their float sum
// depends on it), row 4 only -0 (0 + -0 is +0).
std::vector<ndarray> three_values(dtype t) {
  auto value = [t](std::vector<int64_t> ids, std::vector<double> v) {
    auto n = static_cast<int64_t>(ids.size());
    return ndarray::row_sparse({6, 2}, std::move(ids), of_type(v, {n, 2}, t));
  };
  bool small = t != dtype::f32 && t != dtype::f64;  // 16-bit and integer values
  double big = small ? 1000 : 1e8;
  return {value({1, 3, 4}, {big, 0.5, 2, 3, -0.0, -0.0}), value({0, 1}, {7, 8, -big, 1.25}),
          value({1, 5}, {1, 2, 9, 10})};
}

// The sum as a dense buffer made it: zeros, + each value's rows in order.
std::vector<double> summed_densely(const std::vector<ndarray>& values, const std::vector<int64_t>& ids) {
  auto t = values[0].dtype();
  auto dense = ndarray::zeros({6, 2}, t);
  for (auto& v : values)
    detail::scatter_rows(v.rows(), 0, v.row_ids(), 2, dense, true);
  auto out = ndarray::zeros({static_cast<int64_t>(ids.size()), 2}, t);
  detail::gather_rows(dense, ids, 2, out, 0);
  return out.to_vector<double>();
}

}  // namespace

TEST_CASE("several row_sparse values sum as a dense buffer sums them: union of ids, each row 0 + "
          "the values' rows in order",
          "[sparse]") {
  for (auto t : {dtype::f32, dtype::f64, dtype::f16, dtype::bf16, dtype::i32}) {
    INFO(to_string(t));
    auto values = three_values(t);
    auto [ids, rows] = detail::sum_row_sparse(values, {9, 9});
    REQUIRE(ids == std::vector<int64_t>{0, 1, 3, 4, 5});
    REQUIRE(rows.dtype() == t);
    auto got = rows.to_vector<double>();
    auto want = summed_densely(values, ids);
    REQUIRE(got == want);
    REQUIRE_FALSE(std::signbit(got[6]));  // row 4: 0 + -0
  }
  // In float the order tells: 1e8 - 1e8 + 1 is 1; -1e8 + 1 first rounds to -1e8.
  auto [ids, rows] = detail::sum_row_sparse(three_values(dtype::f32));
  REQUIRE(rows.to_vector<float>()[2] == 1.0f);
  auto mixed = three_values(dtype::f32);
  mixed[2] = three_values(dtype::f64)[2];
  REQUIRE_THROWS_AS(detail::sum_row_sparse(mixed), kvs::error);
}
