#pragma once
// The CPU reducer's way with GPU arrays: a job that touches GPU memory runs
// on host copies of those views, and results for GPU destinations are copied
// back. (The local store reduces on the CPU by definition; the device store
// sends GPU jobs to GPU reducers, so this is for local and mixed jobs.)
#include <utility>
#include <vector>

#include "messages/reducer_actor.hpp"

namespace kvs::detail {

bool all_on_cpu(const reduce_job& job);
bool all_on_cpu(const copy_job& job);

struct staged_job {
  // Host views standing for GPU ones; after the run, copy host -> GPU.
  std::vector<std::pair<array_view, array_view>> write_back;  // (gpu dest, host tmp)
};

// Replaces GPU views in `job` by host copies (inputs copied now).
staged_job stage_to_host(reduce_job& job);
staged_job stage_to_host(copy_job& job);
void write_back(const staged_job& staged);

}  // namespace kvs::detail
