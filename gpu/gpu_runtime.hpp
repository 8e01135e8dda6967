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

// Device memory of gpu(dev). The first allocation marks the process as one
// that uses GPUs (see pinned_alloc).
void* device_alloc(int dev, size_t bytes);
void device_free(int dev, void* p) noexcept;
// Whether this process has allocated GPU memory (and so has a CUDA context).
bool gpu_in_use() noexcept;
// Page-locked host memory (fast, asynchronous-capable copies to and from
// every GPU); nullptr when no GPU memory was ever allocated in this process
// (page-locking would create a CUDA context in a process that needs none),
// or when the allocation fails.
void* pinned_alloc(size_t bytes) noexcept;
void pinned_free(void* p) noexcept;

// A stream on one GPU, owned by a device reducer actor (or by a thread, see
// below). Created on first use: an actor that never touches its GPU creates
// no CUDA context.
class stream {
public:
  explicit stream(int dev);
  ~stream();
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  int device() const { return dev_; }
  void* handle();
  void synchronize();

private:
  int dev_;
  void* handle_ = nullptr;
};

// Stream discipline: every device operation (fill, copy, peer copy, sum,
// NCCL call) is issued on a non-blocking stream, never on CUDA's legacy
// default stream, and returns only once that stream's work has finished, so
// an operation is reported done only when it is, and the next one, on any
// stream, starts after it. While a stream_scope lives, the thread's copies
// and fills that touch the scope's GPU run on its stream (a device
// reducer's handlers open one for the reducer's own stream, so its copies
// and sums are ordered on one stream); other operations run on a stream the
// calling thread keeps per GPU.
class stream_scope {
public:
  explicit stream_scope(stream& s);
  ~stream_scope();
  stream_scope(const stream_scope&) = delete;
  stream_scope& operator=(const stream_scope&) = delete;

private:
  stream* previous_;
};

// Copy between any two places (cpu or gpu, peer to peer where the devices
// allow it); returns when it has finished.
void copy(void* dst, kvs::device dst_dev, const void* src, kvs::device src_dev, size_t bytes);
// Zero fill; returns when it has finished.
void zero(void* dst, int dev, size_t bytes);

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
