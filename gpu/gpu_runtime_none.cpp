#include "gpu/gpu_runtime.hpp"

namespace kvs::cuda {

bool compiled_with_cuda() { return false; }
int device_count() { return 0; }
std::string availability() { return "this build of kvs has no CUDA code (nvcc was not found)"; }

}  // namespace kvs::cuda
