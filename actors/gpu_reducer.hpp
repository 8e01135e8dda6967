#pragma once
// A GPU device reducer: owns a stream on one GPU; sums per-device arrays into
// a destination on its GPU with the kernels of gpu/ (inputs on other devices
// are copied over first, peer to peer where the hardware allows), and copies
// a value out to destinations on any device. Detached: CUDA calls block.
#include <caf/actor_system.hpp>

#include "messages/reducer_actor.hpp"

namespace kvs {

// Throws no_device when gpu(device) is not there.
reducer_actor spawn_gpu_reducer(caf::actor_system& sys, int device);

namespace cuda {
class stream;
}

namespace detail {
// The reducer's work, shared with the NCCL reducer's fallback: a sum into a
// destination on the stream's GPU; a copy from a GPU to anywhere. All of a
// job's device work (copies of inputs from other devices, the sum, copies
// out) is ordered on `s`, and done when the call returns.
void reduce_on_gpu(cuda::stream& s, const reduce_job& job);
void copy_from_gpu(cuda::stream& s, const copy_job& job);
}  // namespace detail

}  // namespace kvs
