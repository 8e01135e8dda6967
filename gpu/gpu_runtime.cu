// Device query, memory, copies, streams and peer access.
#include <cuda_runtime.h>

#include "gpu/cuda_check.hpp"
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
  cudaGetLastError();  // clear the error a failed probe leaves
  return p;
}

const probe& cached() {
  static const probe p = run_probe();  // the device set of a process is fixed
  return p;
}

// Makes `dev` current for this thread while in scope.
struct device_guard {
  int previous = 0;
  explicit device_guard(int dev) {
    KVS_CUDA_TRY(cudaGetDevice(&previous));
    KVS_CUDA_TRY(cudaSetDevice(dev));
  }
  ~device_guard() { cudaSetDevice(previous); }
};
}  // namespace

bool compiled_with_cuda() { return true; }
int device_count() { return cached().count; }
std::string availability() { return cached().why; }

void require_device(int id, const std::string& what) {
  if (id < 0 || id >= device_count())
    throw kvs::error(errc::no_device, what + " needs gpu(" + std::to_string(id) + "), but " +
                                          availability());
}

void* device_alloc(int dev, size_t bytes) {
  require_device(dev, "device memory");
  device_guard g(dev);
  void* p = nullptr;
  KVS_CUDA_TRY(cudaMalloc(&p, bytes == 0 ? 1 : bytes));
  return p;
}

void device_free(int dev, void* p) noexcept {
  if (p == nullptr)
    return;
  int previous = 0;
  cudaGetDevice(&previous);
  cudaSetDevice(dev);
  cudaFree(p);
  cudaSetDevice(previous);
}

void* pinned_alloc(size_t bytes) noexcept {
  if (device_count() == 0)
    return nullptr;
  void* p = nullptr;
  if (cudaHostAlloc(&p, bytes, cudaHostAllocPortable) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

void pinned_free(void* p) noexcept {
  if (p != nullptr)
    cudaFreeHost(p);
}

void copy(void* dst, kvs::device dd, const void* src, kvs::device sd, size_t bytes) {
  if (bytes == 0)
    return;
  bool dg = dd.kind == kvs::device::gpu_kind, sg = sd.kind == kvs::device::gpu_kind;
  if (dg && sg && dd.id != sd.id) {
    KVS_CUDA_TRY(cudaMemcpyPeer(dst, dd.id, src, sd.id, bytes));
    return;
  }
  device_guard g(dg ? dd.id : (sg ? sd.id : 0));
  auto kind = dg ? (sg ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                 : (sg ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  KVS_CUDA_TRY(cudaMemcpy(dst, src, bytes, kind));
}

void zero(void* dst, int dev, size_t bytes) {
  device_guard g(dev);
  KVS_CUDA_TRY(cudaMemset(dst, 0, bytes));
}

stream::stream(int dev) : dev_(dev) {
  require_device(dev, "a CUDA stream");
  device_guard g(dev);
  cudaStream_t s = nullptr;
  KVS_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  handle_ = s;
}

stream::~stream() {
  if (handle_ != nullptr)
    cudaStreamDestroy(static_cast<cudaStream_t>(handle_));
}

void stream::synchronize() {
  KVS_CUDA_TRY(cudaStreamSynchronize(static_cast<cudaStream_t>(handle_)));
}

bool enable_peer_access(int dev, int peer) {
  int can = 0;
  KVS_CUDA_TRY(cudaDeviceCanAccessPeer(&can, dev, peer));
  if (!can)
    return false;
  device_guard g(dev);
  auto rc = cudaDeviceEnablePeerAccess(peer, 0);
  if (rc == cudaErrorPeerAccessAlreadyEnabled) {
    cudaGetLastError();
    return true;
  }
  KVS_CUDA_TRY(rc);
  return true;
}

}  // namespace kvs::cuda
