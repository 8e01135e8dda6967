#include <catch2/catch.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/cpu_kernels.hpp"
#include "core/thread_pool.hpp"

#include <caf/all.hpp>

using namespace kvs;

namespace {
// Values i % 97 in dtype t (exact in every dtype).
ndarray iota(size_t n, dtype t) {
  auto a = ndarray::zeros({static_cast<int64_t>(n)}, dtype::f64);
  double* d = a.data<double>();
  for (size_t i = 0; i < n; ++i)
    d[i] = static_cast<double>(i % 97);
  if (t == dtype::f64)
    return a;
  switch (t) {
    case dtype::f32: return ndarray::from_vector<float>(a.to_vector<float>(), a.shape());
    case dtype::i32: return ndarray::from_vector<int32_t>(a.to_vector<int32_t>(), a.shape());
    case dtype::i64: return ndarray::from_vector<int64_t>(a.to_vector<int64_t>(), a.shape());
    case dtype::u8: return ndarray::from_vector<uint8_t>(a.to_vector<uint8_t>(), a.shape());
    default: return a;
  }
}
}  // namespace

TEST_CASE("the CPU sum matches a reference for each dtype, odd sizes and offsets", "[kernels]") {
  for (auto t : {dtype::f32, dtype::f64, dtype::i32, dtype::i64, dtype::u8}) {
    for (size_t n : {1u, 7u, 4097u, 10001u}) {
      for (size_t inputs : {1u, 2u, 3u, 4u, 5u, 9u}) {
        std::vector<array_view> ins;
        for (size_t k = 0; k < inputs; ++k)
          ins.push_back(array_view{iota(n + 3, t), 3, n});  // unaligned start
        auto dest = ndarray::full({static_cast<int64_t>(n)}, 1.0, t);
        reduce_job job{ins, array_view::whole(dest), false};
        detail::check_job(job);
        detail::sum_range(job, 0, n);
        auto got = dest.to_vector<double>();
        for (size_t i = 0; i < n; ++i)
          REQUIRE(got[i] == static_cast<double>(((i + 3) % 97) * inputs % (t == dtype::u8 ? 256 : 1 << 30)));
        job.accumulate = true;
        detail::sum_range(job, 0, n);
        got = dest.to_vector<double>();
        REQUIRE(got[n - 1] == static_cast<double>(((n + 2) % 97) * inputs * 2 % (t == dtype::u8 ? 256 : 1 << 30)));
      }
    }
  }
}

TEST_CASE("the CPU sum of f16 and bf16 accumulates in float", "[kernels]") {
  for (auto t : {dtype::f16, dtype::bf16}) {
    auto a = ndarray::full({1001}, 0.5, t), b = ndarray::full({1001}, 0.25, t);
    auto dest = ndarray::zeros({1001}, t);
    reduce_job job{{array_view::whole(a), array_view::whole(b), array_view::whole(a)},
                   array_view::whole(dest), false};
    detail::sum_range(job, 0, 1001);
    REQUIRE(dest.to_vector<double>() == std::vector<double>(1001, 1.25));
  }
}

TEST_CASE("a job with mismatched views is refused", "[kernels]") {
  auto a = ndarray::zeros({4}), b = ndarray::zeros({5}), c = ndarray::zeros({4}, dtype::f64);
  REQUIRE_THROWS_AS(detail::check_job(reduce_job{{array_view::whole(b)}, array_view::whole(a), false}),
                    kvs::error);
  REQUIRE_THROWS_AS(detail::check_job(reduce_job{{array_view::whole(c)}, array_view::whole(a), false}),
                    kvs::error);
  REQUIRE_THROWS_AS(detail::check_job(copy_job{array_view{a, 2, 4}, {}}), kvs::error);
}

TEST_CASE("the reducer actor splits big arrays over its threads", "[kernels][actors]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto reducer = spawn_cpu_reducer(sys, 3, 1000);
  size_t n = 100003;
  auto a = ndarray::full({static_cast<int64_t>(n)}, 1.0), b = ndarray::full({static_cast<int64_t>(n)}, 2.0);
  auto dest = ndarray::zeros({static_cast<int64_t>(n)});
  caf::scoped_actor self{sys};
  bool ok = false;
  self->request(reducer, std::chrono::seconds(10), reduce_atom::value,
                reduce_job{{array_view::whole(a), array_view::whole(b)}, array_view::whole(dest), false})
      .receive([&](ok_atom) { ok = true; }, [&](caf::error&) { ok = false; });
  REQUIRE(ok);
  REQUIRE(dest.to_vector<float>() == std::vector<float>(n, 3.0f));
  auto out = ndarray::zeros({static_cast<int64_t>(n)});
  self->request(reducer, std::chrono::seconds(10), copy_atom::value,
                copy_job{array_view::whole(dest), {array_view::whole(out)}})
      .receive([&](ok_atom) { ok = true; }, [&](caf::error&) { ok = false; });
  REQUIRE(ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(n, 3.0f));
  bool failed = false;
  self->request(reducer, std::chrono::seconds(10), reduce_atom::value,
                reduce_job{{array_view::whole(ndarray::zeros({3}))}, array_view::whole(dest), false})
      .receive([&](ok_atom) {}, [&](caf::error&) { failed = true; });
  REQUIRE(failed);  // a bad job gets an error and the reducer keeps serving
  self->request(reducer, std::chrono::seconds(10), copy_atom::value,
                copy_job{array_view::whole(dest), {array_view::whole(out)}})
      .receive([&](ok_atom) { ok = true; }, [&](caf::error&) { ok = false; });
  REQUIRE(ok);
  caf::anon_send_exit(reducer, caf::exit_reason::user_shutdown);
}

TEST_CASE("the thread pool runs every task once", "[kernels]") {
  detail::thread_pool pool(3);
  std::vector<std::atomic<int>> hits(50);
  for (int round = 0; round < 20; ++round)
    pool.parallel_for(hits.size(), [&](size_t i) { hits[i]++; });
  for (auto& h : hits)
    REQUIRE(h.load() == 20);
}
