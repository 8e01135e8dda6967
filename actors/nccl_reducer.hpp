#pragma once
// The nccl store's device reducer: one NCCL communicator over every GPU of
// the process (ncclCommInitAll). A sum whose inputs are one array per GPU
// runs as ncclReduce into the destination's GPU; a copy from one GPU to an
// array on each other GPU runs as ncclBroadcast; the collectives of jobs that
// arrive together (the keys of one list call) go in one NCCL group call.
// Other shapes of job (two arrays on one GPU, host arrays) take the GPU
// reducer's path. Detached.
#include <caf/actor_system.hpp>

#include "messages/reducer_actor.hpp"

namespace kvs {

// Throws no_device when there is no GPU.
reducer_actor spawn_nccl_reducer(caf::actor_system& sys);

}  // namespace kvs
