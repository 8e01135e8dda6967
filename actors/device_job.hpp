#pragma once
// Running a reduce or copy job from an actor: small host jobs run right
// there (a message costs more than the work); big ones, and any that touch a
// GPU, go to the reducer of the device the result lands on. Used by the shard
// (sums and copies out) and the worker (values arriving from other processes).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "actors/cpu_kernels.hpp"
#include "actors/reducer_set.hpp"
#include "actors/staging.hpp"
#include "actors/timed_request.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

using job_done = std::function<void(std::optional<kvs::error>)>;

struct job_runner {
  const reducer_set& reducers;
  int64_t inline_bound;
  std::chrono::milliseconds timeout;
  deadline_book& book;
};

template <class Self, class Job, class Atom>
void run_job(Self* self, const job_runner& r, Job job, Atom atom, uint64_t count,
             kvs::device where, const char* what, void (*kernel)(const Job&, uint64_t, uint64_t),
             job_done done) {
  if (static_cast<int64_t>(count) <= r.inline_bound && all_on_cpu(job)) {
    done(capture([&] {
      check_job(job);
      kernel(job, 0, count);
    }));
    return;
  }
  timed_request<ok_atom>(
      self, r.book, r.timeout, r.reducers.for_device(where), what,
      [done](ok_atom) { done(std::nullopt); }, [done](kvs::error err) { done(std::move(err)); },
      atom, std::move(job));
}

template <class Self>
void run_reduce(Self* self, const job_runner& r, reduce_job job, const char* what, job_done done) {
  auto count = job.dest.count;
  auto where = job.dest.array.device();
  run_job(self, r, std::move(job), reduce_atom::value, count, where, what, &sum_range,
          std::move(done));
}

template <class Self>
void run_copy(Self* self, const job_runner& r, copy_job job, const char* what, job_done done) {
  if (job.dests.empty()) {
    done(std::nullopt);
    return;
  }
  auto count = job.source.count;
  auto where = job.source.array.device();
  run_job(self, r, std::move(job), copy_atom::value, count, where, what, &copy_range,
          std::move(done));
}

}  // namespace kvs::detail
