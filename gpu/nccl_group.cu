// The NCCL communicator of the nccl store: one rank per GPU of this process.
#include <cuda_runtime.h>
#include <nccl.h>

#include <exception>

#include "gpu/cuda_check.hpp"
#include "gpu/gpu_runtime.hpp"

namespace kvs::cuda {

namespace {

ncclDataType_t nccl_type(kvs::dtype t) {
  switch (t) {
    case kvs::dtype::f16: return ncclHalf;
    case kvs::dtype::bf16: return ncclBfloat16;
    case kvs::dtype::f32: return ncclFloat;
    case kvs::dtype::f64: return ncclDouble;
    case kvs::dtype::i32: return ncclInt32;
    case kvs::dtype::i64: return ncclInt64;
    case kvs::dtype::u8: return ncclUint8;
  }
  return ncclFloat;
}

ncclComm_t comm(void* c) { return static_cast<ncclComm_t>(c); }
cudaStream_t strm(void* s) { return static_cast<cudaStream_t>(s); }

}  // namespace

nccl_group::nccl_group(const std::vector<int>& devices) : devices_(devices) {
  if (devices.empty())
    throw kvs::error(errc::invalid_argument, "an NCCL communicator needs at least one GPU");
  for (auto d : devices)
    require_device(d, "an NCCL communicator");
  std::vector<ncclComm_t> comms(devices.size());
  KVS_NCCL_TRY(ncclCommInitAll(comms.data(), static_cast<int>(devices.size()), devices.data()));
  for (size_t i = 0; i < devices.size(); ++i) {
    comms_.push_back(comms[i]);
    KVS_CUDA_TRY(cudaSetDevice(devices[i]));
    cudaStream_t s = nullptr;
    KVS_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    streams_.push_back(s);
  }
}

nccl_group::~nccl_group() {
  for (size_t i = 0; i < comms_.size(); ++i) {
    ncclCommDestroy(comm(comms_[i]));
    cudaSetDevice(devices_[i]);
    cudaStreamDestroy(strm(streams_[i]));
  }
}

namespace {
// One group call. The group is closed on every path (an error while issuing
// still ends it), and every rank's stream is waited for before the call
// returns or throws, so no collective of a failed group still runs when its
// jobs are told; the first error is thrown (every job of the group gets it).
template <class Issue>
void grouped(const std::vector<int>& devices, std::vector<void*>& streams, Issue issue) {
  KVS_NCCL_TRY(ncclGroupStart());
  std::exception_ptr first;
  try {
    for (size_t r = 0; r < devices.size(); ++r)
      issue(r);
  } catch (...) {
    first = std::current_exception();
  }
  auto end = ncclGroupEnd();
  if (!first && end != ncclSuccess) {
    try {
      KVS_NCCL_TRY(end);
    } catch (...) {
      first = std::current_exception();
    }
  }
  for (size_t r = 0; r < devices.size(); ++r) {
    auto rc = cudaSetDevice(devices[r]);
    if (rc == cudaSuccess)
      rc = cudaStreamSynchronize(strm(streams[r]));
    if (rc != cudaSuccess && !first) {
      try {
        KVS_CUDA_TRY(rc);
      } catch (...) {
        first = std::current_exception();
      }
    }
  }
  if (first)
    std::rethrow_exception(first);
}
}  // namespace

void nccl_group::all_reduce(kvs::dtype t, const std::vector<const void*>& in,
                            const std::vector<void*>& out, size_t count) {
  grouped(devices_, streams_, [&](size_t r) {
    KVS_NCCL_TRY(ncclAllReduce(in[r], out[r], count, nccl_type(t), ncclSum, comm(comms_[r]),
                               strm(streams_[r])));
  });
}

void nccl_group::broadcast(kvs::dtype t, int root, const std::vector<void*>& bufs, size_t count) {
  grouped(devices_, streams_, [&](size_t r) {
    KVS_NCCL_TRY(ncclBroadcast(bufs[r], bufs[r], count, nccl_type(t), root, comm(comms_[r]),
                               strm(streams_[r])));
  });
}

void nccl_group::reduce(kvs::dtype t, int root, const std::vector<const void*>& in, void* out,
                        size_t count) {
  nccl_op op;
  op.kind = nccl_op::reduce_op;
  op.type = t;
  op.root = root;
  op.count = count;
  op.in = in;
  op.out = out;
  run({op});
}

void nccl_group::run(const std::vector<nccl_op>& ops) {
  grouped(devices_, streams_, [&](size_t r) {
    for (auto& op : ops) {
      if (op.kind == nccl_op::reduce_op) {
        void* dst = static_cast<int>(r) == op.root ? op.out : nullptr;
        KVS_NCCL_TRY(ncclReduce(op.in[r], dst, op.count, nccl_type(op.type), ncclSum, op.root,
                                comm(comms_[r]), strm(streams_[r])));
      } else {
        KVS_NCCL_TRY(ncclBroadcast(op.bufs[r], op.bufs[r], op.count, nccl_type(op.type), op.root,
                                   comm(comms_[r]), strm(streams_[r])));
      }
    }
  });
}

}  // namespace kvs::cuda
