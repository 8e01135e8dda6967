#include <catch2/catch.hpp>

#include "../test_config.hpp"
#include "gpu/gpu_runtime.hpp"

using namespace kvs;

TEST_CASE("zeros and full build every dtype with the right size", "[ndarray]") {
  for (auto t : {dtype::f16, dtype::bf16, dtype::f32, dtype::f64, dtype::i32, dtype::i64, dtype::u8}) {
    auto a = ndarray::full({2, 3}, 3.0, t);
    REQUIRE(a.dtype() == t);
    REQUIRE(a.size() == 6);
    REQUIRE(a.shape() == shape{2, 3});
    REQUIRE(a.to_vector<double>() == std::vector<double>(6, 3.0));
    REQUIRE(ndarray::zeros({4}, t).to_vector<float>() == std::vector<float>(4, 0.0f));
  }
}

TEST_CASE("f16 and bf16 round to nearest even", "[ndarray]") {
  // 1 + 2^-11 lies halfway between two f16 values: ties go to the even one (1.0).
  REQUIRE(ndarray::full({1}, 1.0 + 1.0 / 2048, dtype::f16).to_vector<double>()[0] == 1.0);
  REQUIRE(ndarray::full({1}, 1.0 + 3.0 / 2048, dtype::f16).to_vector<double>()[0] == 1.0 + 4.0 / 2048);
  REQUIRE(ndarray::full({1}, 65504.0, dtype::f16).to_vector<double>()[0] == 65504.0);
  REQUIRE(ndarray::full({1}, 1.0 + 1.0 / 256, dtype::bf16).to_vector<double>()[0] == 1.0);
  REQUIRE(ndarray::full({1}, -2.5, dtype::bf16).to_vector<double>()[0] == -2.5);
  REQUIRE(ndarray::full({1}, 5.960464477539063e-08, dtype::f16).to_vector<double>()[0] ==
          5.960464477539063e-08);  // the smallest f16 subnormal survives
}

TEST_CASE("from_vector keeps values and takes the dtype from T", "[ndarray]") {
  auto a = ndarray::from_vector<int32_t>({1, 2, 3, 4}, {2, 2});
  REQUIRE(a.dtype() == dtype::i32);
  REQUIRE(a.to_vector<int32_t>() == std::vector<int32_t>{1, 2, 3, 4});
  REQUIRE(a.to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  REQUIRE(ndarray::from_vector<uint8_t>({7}, {1}).dtype() == dtype::u8);
  REQUIRE(ndarray::from_vector<double>({7}, {1}).dtype() == dtype::f64);
  REQUIRE(ndarray::from_vector<int64_t>({7}, {1}).dtype() == dtype::i64);
  REQUIRE_KVS_ERROR(ndarray::from_vector<float>({1, 2, 3}, {2, 2}), errc::shape_mismatch);
}

TEST_CASE("copies of a handle alias one storage", "[ndarray]") {
  auto a = ndarray::zeros({3});
  ndarray b = a;
  b.data<float>()[1] = 5;
  REQUIRE(a.to_vector<float>() == std::vector<float>{0, 5, 0});
  REQUIRE(a.same_storage(b));
  auto c = a.copy_to(cpu(1));
  REQUIRE(c.device() == cpu(1));
  REQUIRE_FALSE(c.same_storage(a));
  c.data<float>()[0] = 9;
  REQUIRE(a.to_vector<float>()[0] == 0);
}

TEST_CASE("cpu(i) are distinct logical devices", "[ndarray]") {
  REQUIRE(cpu(0) != cpu(1));
  REQUIRE(cpu(2) == cpu(2));
  REQUIRE(cpu(0) != gpu(0));
  REQUIRE(ndarray::zeros({1}, dtype::f32, cpu(3)).device() == cpu(3));
  REQUIRE_KVS_ERROR(ndarray::zeros({1}, dtype::f32, cpu(-1)), errc::invalid_argument);
}

TEST_CASE("an array on a missing gpu fails with no_device", "[ndarray]") {
  if (cuda::device_count() > 0) {
    WARN("skipped: a GPU is present (" << cuda::availability() << ")");
    return;
  }
  REQUIRE_KVS_ERROR(ndarray::zeros({2}, dtype::f32, gpu(0)), errc::no_device);
}

TEST_CASE("data<T> checks the dtype and the storage", "[ndarray]") {
  auto a = ndarray::zeros({2}, dtype::f64);
  REQUIRE_KVS_ERROR(a.data<float>(), errc::dtype_mismatch);
  REQUIRE(a.data<double>() != nullptr);
  auto rs = ndarray::row_sparse({4, 2}, {1}, ndarray::full({1, 2}, 1.0));
  REQUIRE_KVS_ERROR(rs.data<float>(), errc::invalid_argument);
  ndarray none;
  REQUIRE(none.is_none());
  REQUIRE_KVS_ERROR(none.to_vector<float>(), errc::invalid_argument);
}

TEST_CASE("row_sparse arrays densify on to_vector", "[ndarray]") {
  auto rows = ndarray::from_vector<float>({1, 2, 3, 4}, {2, 2});
  auto rs = ndarray::row_sparse({4, 2}, {0, 2}, rows);
  REQUIRE(rs.storage() == storage::row_sparse);
  REQUIRE(rs.shape() == shape{4, 2});
  REQUIRE(rs.size() == 8);
  REQUIRE(rs.row_ids() == std::vector<int64_t>{0, 2});
  REQUIRE(rs.rows().same_storage(rows));
  REQUIRE(rs.to_vector<float>() == std::vector<float>{1, 2, 0, 0, 3, 4, 0, 0});
  REQUIRE_KVS_ERROR(ndarray::row_sparse({4, 2}, {2, 0}, rows), errc::invalid_argument);
  REQUIRE_KVS_ERROR(ndarray::row_sparse({4, 2}, {0, 4}, rows), errc::invalid_argument);
  REQUIRE_KVS_ERROR(ndarray::row_sparse({4, 3}, {0, 2}, rows), errc::shape_mismatch);
  REQUIRE_KVS_ERROR(ndarray::zeros({2}).row_ids(), errc::invalid_argument);
}
