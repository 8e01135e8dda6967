#pragma once
// The device reducers of one process: the CPU reducer, and one reducer per
// GPU where the store reduces on GPUs (device, nccl, dist_device_sync). A
// job goes to the reducer of the device its result lands on; with no GPU
// reducer (the local store) the CPU reducer takes GPU arrays through host
// copies, which is what `local` means.
#include <vector>

#include <caf/send.hpp>

#include "messages/reducer_actor.hpp"

namespace kvs {

struct reducer_set {
  reducer_actor cpu;
  std::vector<reducer_actor> gpus;  // by GPU id; empty: none

  const reducer_actor& for_device(kvs::device d) const {
    if (d.kind == kvs::device::gpu_kind && d.id >= 0 && static_cast<size_t>(d.id) < gpus.size() &&
        gpus[static_cast<size_t>(d.id)])
      return gpus[static_cast<size_t>(d.id)];
    return cpu;
  }

  void stop() {
    if (cpu)
      caf::anon_send_exit(cpu, caf::exit_reason::user_shutdown);
    for (auto& g : gpus)
      if (g)  // the nccl store shares one actor: a second exit is harmless
        caf::anon_send_exit(g, caf::exit_reason::user_shutdown);
    cpu = nullptr;
    gpus.clear();
  }
};

}  // namespace kvs
