// Device query, memory, copies, streams and peer access.
#include <cuda_runtime.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>

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

std::atomic<bool> allocated_on_gpu{false};

// The stream_scope of this thread, if any.
thread_local stream* scoped = nullptr;

// The stream an operation touching gpu(dev) (and maybe gpu(other)) runs on:
// the scope's when it is on one of them, else this thread's own for dev.
stream& stream_for(int dev, int other = -1) {
  if (scoped != nullptr && (scoped->device() == dev || scoped->device() == other))
    return *scoped;
  thread_local std::map<int, std::unique_ptr<stream>> own;
  auto& s = own[dev];
  if (!s)
    s = std::make_unique<stream>(dev);
  return *s;
}
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
  allocated_on_gpu = true;
  return p;
}

bool gpu_in_use() noexcept { return allocated_on_gpu; }

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
  if (!allocated_on_gpu || device_count() == 0)
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

// Copies and fills are issued on a stream (cudaMemcpy and cudaMemset would
// use the legacy default stream, which does not order against non-blocking
// streams, and may return before a device-side copy has finished) and
// waited for.
void copy(void* dst, kvs::device dd, const void* src, kvs::device sd, size_t bytes) {
  if (bytes == 0)
    return;
  bool dg = dd.kind == kvs::device::gpu_kind, sg = sd.kind == kvs::device::gpu_kind;
  if (!dg && !sg) {
    std::memcpy(dst, src, bytes);
    return;
  }
  int dev = dg ? dd.id : sd.id;
  auto& s = stream_for(dev, dg && sg ? sd.id : -1);
  auto h = static_cast<cudaStream_t>(s.handle());
  device_guard g(s.device());
  if (dg && sg && dd.id != sd.id) {
    KVS_CUDA_TRY(cudaMemcpyPeerAsync(dst, dd.id, src, sd.id, bytes, h));
  } else {
    auto kind = dg ? (sg ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                   : cudaMemcpyDeviceToHost;
    KVS_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, kind, h));
  }
  s.synchronize();
}

void zero(void* dst, int dev, size_t bytes) {
  auto& s = stream_for(dev);
  device_guard g(dev);
  KVS_CUDA_TRY(cudaMemsetAsync(dst, 0, bytes, static_cast<cudaStream_t>(s.handle())));
  s.synchronize();
}

stream::stream(int dev) : dev_(dev) { require_device(dev, "a CUDA stream"); }

stream::~stream() {
  if (handle_ != nullptr)
    cudaStreamDestroy(static_cast<cudaStream_t>(handle_));
}

void* stream::handle() {
  if (handle_ == nullptr) {
    device_guard g(dev_);
    cudaStream_t s = nullptr;
    KVS_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    handle_ = s;
  }
  return handle_;
}

void stream::synchronize() {
  if (handle_ != nullptr)
    KVS_CUDA_TRY(cudaStreamSynchronize(static_cast<cudaStream_t>(handle_)));
}

stream_scope::stream_scope(stream& s) : previous_(scoped) { scoped = &s; }
stream_scope::~stream_scope() { scoped = previous_; }

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
