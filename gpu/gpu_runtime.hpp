#pragma once
// The narrow interface between CPU code and CUDA/NCCL: CPU code includes
// this header, never a CUDA header. Built by nvcc when it is found
// (gpu_runtime.cu, gpu_kernels.cu, nccl_group.cu), otherwise by
// gpu_runtime_none.cpp, whose functions report that there is no GPU.
// Every CUDA or NCCL failure is thrown as kvs::error (cuda_error or
// nccl_error) naming the call, file, line and the library's message.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kvs/ndarray.hpp"

namespace kvs::cuda {

// Whether this build contains CUDA code.
bool compiled_with_cuda();
// GPUs usable by this process; 0 when there is no driver or no device.
int device_count();
// One sentence on why GPUs are or are not usable, for error messages and for
// the GPU tests' skip notice.
std::string availability();
// Throws no_device naming `what` unless gpu(id) exists.
void require_device(int id, const std::string& what);

// Device memory of gpu(dev).
void* device_alloc(int dev, size_t bytes);
void device_free(int dev, void* p) noexcept;
// Page-locked host memory (fast, asynchronous-capable copies to and from
// every GPU); nullptr when there is no GPU or the allocation fails.
void* pinned_alloc(size_t bytes) noexcept;
void pinned_free(void* p) noexcept;

// Synchronous copy between any two places (cpu or gpu, peer to peer where
// the devices allow it).
void copy(void* dst, kvs::device dst_dev, const void* src, kvs::device src_dev, size_t bytes);
void zero(void* dst, int dev, size_t bytes);

// A stream on one GPU, owned by a device reducer actor.
class stream {
public:
  explicit stream(int dev);
  ~stream();
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  int device() const { return dev_; }
  void* handle() const { return handle_; }
  void synchronize();

private:
  int dev_;
  void* handle_ = nullptr;
};

// dst = sum(srcs) (or dst += sum(srcs) with accumulate) over `count`
// elements of dtype t (f16, bf16, f32, f64), all on the stream's device; one
// pass over the inputs, 16-byte loads. Waits for the result.
void sum(stream& s, kvs::dtype t, void* dst, const std::vector<const void*>& srcs, size_t count,
         bool accumulate);

// Turns on peer access from dev to peer where the hardware allows it.
bool enable_peer_access(int dev, int peer);

// One collective of an NCCL group call.
struct nccl_op {
  enum kind_t { reduce_op, broadcast_op } kind = reduce_op;
  kvs::dtype type = kvs::dtype::f32;
  int root = 0;
  size_t count = 0;
  std::vector<const void*> in;  // reduce: one buffer per rank
  void* out = nullptr;          // reduce: the result, on the root
  std::vector<void*> bufs;      // broadcast: one per rank, the root's is the source
};

// An NCCL communicator over one GPU per rank of this process
// (ncclCommInitAll). Collectives on lists run in one group.
class nccl_group {
public:
  explicit nccl_group(const std::vector<int>& devices);
  ~nccl_group();
  nccl_group(const nccl_group&) = delete;
  nccl_group& operator=(const nccl_group&) = delete;
  const std::vector<int>& devices() const { return devices_; }
  // Rank r sums bufs_in[r] into bufs_out[r] (all ranks); count elements of t.
  void all_reduce(kvs::dtype t, const std::vector<const void*>& in, const std::vector<void*>& out,
                  size_t count);
  // The root's buffer reaches every rank's buffer.
  void broadcast(kvs::dtype t, int root, const std::vector<void*>& bufs, size_t count);
  // Every rank's in-buffer is summed into the root's out-buffer.
  void reduce(kvs::dtype t, int root, const std::vector<const void*>& in, void* out, size_t count);
  // Several collectives (e.g. the keys of one list call) in one group call.
  void run(const std::vector<nccl_op>& ops);

private:
  std::vector<int> devices_;
  std::vector<void*> comms_, streams_;
};

}  // namespace kvs::cuda
