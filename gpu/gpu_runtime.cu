#include <cuda_runtime.h>

#include "gpu/gpu_runtime.hpp"

namespace kvs::cuda {

namespace {
struct probe {
  int count = 0;
  std::string why;
};

probe run_probe() {
  probe p;
  cudaError_t rc = cudaGetDeviceCount(&p.count);
  if (rc == cudaErrorInsufficientDriver || rc == cudaErrorNoDevice) {
    // Both mean "no GPU here": without a GPU the runtime reports a missing
    // driver (35) rather than no device (100).
    p.count = 0;
    p.why = std::string("no CUDA device is present (") + cudaGetErrorString(rc) + ")";
  } else if (rc != cudaSuccess) {
    p.count = 0;
    p.why = std::string("the CUDA runtime failed: cudaGetDeviceCount: ") + cudaGetErrorString(rc);
  } else {
    p.why = std::to_string(p.count) + " CUDA device(s) present";
  }
  cudaGetLastError();  // clear the sticky error left by a failed probe
  return p;
}

const probe& cached() {
  static const probe p = run_probe();  // the device set of a process is fixed
  return p;
}
}  // namespace

bool compiled_with_cuda() { return true; }
int device_count() { return cached().count; }
std::string availability() { return cached().why; }

}  // namespace kvs::cuda
