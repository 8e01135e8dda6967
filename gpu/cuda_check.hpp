#pragma once
// CUDA and NCCL return codes become kvs::error at the call site, naming the
// call, file, line and the library's message. For .cu files only.
#include <cuda_runtime.h>

#include <string>

#include "kvs/error.hpp"

#define KVS_CUDA_TRY(call)                                                                    \
  do {                                                                                        \
    cudaError_t kvs_rc_ = (call);                                                             \
    if (kvs_rc_ != cudaSuccess)                                                               \
      throw ::kvs::error(::kvs::errc::cuda_error,                                             \
                         std::string(#call) + " failed at " + __FILE__ + ":" +                \
                             std::to_string(__LINE__) + ": " + cudaGetErrorString(kvs_rc_)); \
  } while (false)

#define KVS_NCCL_TRY(call)                                                                    \
  do {                                                                                        \
    ncclResult_t kvs_rc_ = (call);                                                            \
    if (kvs_rc_ != ncclSuccess)                                                               \
      throw ::kvs::error(::kvs::errc::nccl_error,                                             \
                         std::string(#call) + " failed at " + __FILE__ + ":" +                \
                             std::to_string(__LINE__) + ": " + ncclGetErrorString(kvs_rc_));  \
  } while (false)
