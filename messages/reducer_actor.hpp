#pragma once
// The device reducer's interface: sum per-device arrays into a destination,
// and copy one value out to many destinations.
#include <atomic>
#include <memory>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/array_view.hpp"
#include "messages/atoms.hpp"

namespace kvs {

using ok_atom = caf::atom_constant<caf::atom("kvs_ok")>;

// Lets the sender of a job withdraw it while it waits for the reducer: a
// withdrawn job never runs, so it never writes into arrays its sender has
// given up on; one that has started runs to its end, and its sender waits
// for the answer. In process only (not serialized): a job without one runs.
class job_ticket {
public:
  bool start() { return move(waiting, running); }       // the reducer, before any work
  bool withdraw() { return move(waiting, withdrawn); }  // the sender, at its deadline

private:
  enum : int { waiting, running, withdrawn };
  bool move(int from, int to) { return state_.compare_exchange_strong(from, to); }
  std::atomic<int> state_{waiting};
};

struct reduce_job {
  std::vector<array_view> inputs;  // same dtype and count as dest
  array_view dest;
  bool accumulate = false;  // dest += sum(inputs) instead of dest = sum(inputs)
  std::shared_ptr<job_ticket> ticket = nullptr;  // set by the sender (actors/device_job.hpp)
};

struct copy_job {
  array_view source;
  std::vector<array_view> dests;
  std::shared_ptr<job_ticket> ticket = nullptr;  // set by the sender (actors/device_job.hpp)
};

// Whether a reducer may run the job (false: its sender withdrew it).
template <class Job>
bool start_job(const Job& job) {
  return !job.ticket || job.ticket->start();
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reduce_job& x) {
  return f(caf::meta::type_name("reduce_job"), x.inputs, x.dest, x.accumulate);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, copy_job& x) {
  return f(caf::meta::type_name("copy_job"), x.source, x.dests);
}

using reducer_actor = caf::typed_actor<caf::replies_to<reduce_atom, reduce_job>::with<ok_atom>,
                                       caf::replies_to<copy_atom, copy_job>::with<ok_atom>>;

}  // namespace kvs
