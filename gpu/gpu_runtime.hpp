#pragma once
// The narrow interface between CPU code and the CUDA runtime: CPU code
// includes this header, never a CUDA header. Built by nvcc when it is found
// (gpu_runtime.cu), otherwise by gpu_runtime_none.cpp.
#include <string>

namespace kvs::cuda {

// Whether this build contains CUDA code.
bool compiled_with_cuda();
// GPUs usable by this process; 0 when there is no driver or no device.
int device_count();
// One sentence on why GPUs are or are not usable, for error messages and for
// the GPU tests' skip notice.
std::string availability();

}  // namespace kvs::cuda
