#include "actors/cpu_reducer.hpp"

#include <memory>

#include <caf/all.hpp>

#include "actors/cpu_kernels.hpp"
#include "actors/staging.hpp"
#include "core/thread_pool.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

struct reducer_state {
  std::unique_ptr<detail::thread_pool> pool;
  uint64_t bound = 0;

  // Runs body over [0, count) in one piece, or in one slice per thread for
  // big arrays (slices aligned to 64 elements to keep cache lines apart).
  template <class Body>
  void run(uint64_t count, Body body) {
    if (count < bound || pool->size() == 1) {
      body(0, count);
      return;
    }
    uint64_t slices = pool->size();
    uint64_t step = ((count + slices - 1) / slices + 63) / 64 * 64;
    pool->parallel_for(slices, [&](size_t i) {
      uint64_t b = std::min<uint64_t>(count, i * step);
      uint64_t e = std::min<uint64_t>(count, b + step);
      if (b < e)
        body(b, e);
    });
  }
};

using reducer_impl = reducer_actor::stateful_pointer<reducer_state>;

reducer_actor::behavior_type cpu_reducer(reducer_impl self, int threads, int64_t bound) {
  self->state.pool = std::make_unique<detail::thread_pool>(static_cast<size_t>(threads));
  self->state.bound = static_cast<uint64_t>(bound);
  return {
      [=](reduce_atom, reduce_job& job) -> caf::result<ok_atom> {
        return detail::reply(detail::capture([&] {
                               detail::claim_job(job);
                               detail::check_job(job);
                               auto staged = detail::stage_to_host(job);
                               self->state.run(job.dest.count, [&](uint64_t b, uint64_t e) {
                                 detail::sum_range(job, b, e);
                               });
                               detail::write_back(staged);
                             }),
                             ok_atom::value);
      },
      [=](copy_atom, copy_job& job) -> caf::result<ok_atom> {
        return detail::reply(detail::capture([&] {
                               detail::claim_job(job);
                               detail::check_job(job);
                               auto staged = detail::stage_to_host(job);
                               self->state.run(job.source.count, [&](uint64_t b, uint64_t e) {
                                 detail::copy_range(job, b, e);
                               });
                               detail::write_back(staged);
                             }),
                             ok_atom::value);
      },
  };
}

}  // namespace

reducer_actor spawn_cpu_reducer(caf::actor_system& sys, int threads, int64_t bigarray_bound) {
  return sys.spawn<caf::detached>(cpu_reducer, threads, bigarray_bound);
}

}  // namespace kvs
