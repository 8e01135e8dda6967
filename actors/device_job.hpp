#pragma once
// Running a reduce or copy job from an actor: small host jobs run right
// there (a message costs more than the work); big ones, and any that touch a
// GPU, go to the reducer of the device the result lands on. Used by the shard
// (sums and copies out) and the worker (values arriving from other processes).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
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

// Sends a job to a reducer with a ticket. At the deadline a job still
// waiting is withdrawn (it will never write) and `done` gets the timeout; a
// job already running is waited for: `done` gets its answer, so no job writes
// into an array after its sender reported the operation failed.
template <class Self, class Job, class Atom>
void send_job(Self* self, const job_runner& r, const reducer_actor& to, Job job, Atom atom,
              const char* what, job_done done) {
  struct sent {
    job_ticket ticket;
    bool running_late = false;  // the deadline passed while it ran
  };
  auto s = std::make_shared<sent>();
  job.ticket = std::shared_ptr<job_ticket>(s, &s->ticket);
  auto& book = r.book;
  auto id = book.open(r.timeout, what, [s, done](kvs::error err) {
    if (s->ticket.withdraw())
      done(std::move(err));
    else
      s->running_late = true;
  });
  arm_tick(self, book, r.timeout);
  self->request(to, caf::infinite, atom, std::move(job))
      .then(
          [&book, id, s, done, what](ok_atom) {
            if (book.close(id) || s->running_late)
              contain(what, [&] { done(std::nullopt); });
          },
          [&book, id, s, done, what](caf::error& err) {
            if (book.close(id) || s->running_late)
              contain(what, [&] { done(from_caf_error(err, what)); });
          });
}

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
  send_job(self, r, r.reducers.for_device(where), std::move(job), atom, what, std::move(done));
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
