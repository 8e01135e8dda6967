#pragma once
// The CPU device reducer: sums the per-device copies of a push and copies a
// value out to every destination. Runs detached (its own thread) so a long
// reduction never holds a scheduler thread; arrays of at least
// `bigarray_bound` elements are split over `threads` threads.
#include <cstdint>

#include <caf/actor_system.hpp>

#include "messages/reducer_actor.hpp"

namespace kvs {

reducer_actor spawn_cpu_reducer(caf::actor_system& sys, int threads, int64_t bigarray_bound);

}  // namespace kvs
