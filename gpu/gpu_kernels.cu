// The device reducer's kernels: dst = (dst +) sum of up to 8 inputs per
// pass, in one pass over the inputs. 16-byte loads (uint4) when every
// pointer is 16-byte aligned, an element-wise tail otherwise; 16-bit floats
// accumulate in float, f64 in double.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "gpu/cuda_check.hpp"
#include "gpu/gpu_runtime.hpp"

namespace kvs::cuda {

namespace {

constexpr int max_inputs = 8;

struct sum_args {
  const void* src[max_inputs];
  int n;
  void* dst;
  size_t count;  // elements
  bool accumulate;
};

template <class T> struct acc_of { using type = float; };
template <> struct acc_of<double> { using type = double; };

template <class T> __device__ inline typename acc_of<T>::type widen(T x) { return x; }
template <> __device__ inline float widen<__half>(__half x) { return __half2float(x); }
template <> __device__ inline float widen<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T> __device__ inline T narrow(typename acc_of<T>::type x) { return static_cast<T>(x); }
template <> __device__ inline __half narrow<__half>(float x) { return __float2half_rn(x); }
template <> __device__ inline __nv_bfloat16 narrow<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// One 16-byte vector per thread step: E elements of T.
template <class T>
__global__ void sum_vectors(sum_args a, size_t vectors) {
  constexpr int E = 16 / sizeof(T);
  using A = typename acc_of<T>::type;
  size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; v < vectors; v += stride) {
    A acc[E];
    uint4* d = static_cast<uint4*>(a.dst) + v;
    if (a.accumulate) {
      uint4 raw = *d;
      const T* x = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int e = 0; e < E; ++e) acc[e] = widen<T>(x[e]);
    } else {
#pragma unroll
      for (int e = 0; e < E; ++e) acc[e] = A(0);
    }
    for (int k = 0; k < a.n; ++k) {
      uint4 raw = __ldg(static_cast<const uint4*>(a.src[k]) + v);
      const T* x = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int e = 0; e < E; ++e) acc[e] += widen<T>(x[e]);
    }
    uint4 out;
    T* y = reinterpret_cast<T*>(&out);
#pragma unroll
    for (int e = 0; e < E; ++e) y[e] = narrow<T>(acc[e]);
    *d = out;
  }
}

// Elements [first, count): the tail, or everything when unaligned.
template <class T>
__global__ void sum_elements(sum_args a, size_t first) {
  using A = typename acc_of<T>::type;
  size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  T* d = static_cast<T*>(a.dst);
  for (size_t i = first + blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < a.count; i += stride) {
    A acc = a.accumulate ? widen<T>(d[i]) : A(0);
    for (int k = 0; k < a.n; ++k)
      acc += widen<T>(static_cast<const T*>(a.src[k])[i]);
    d[i] = narrow<T>(acc);
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

template <class T>
void launch(cudaStream_t s, const sum_args& a) {
  constexpr size_t E = 16 / sizeof(T);
  bool vec = aligned16(a.dst);
  for (int k = 0; k < a.n; ++k)
    vec = vec && aligned16(a.src[k]);
  size_t vectors = vec ? a.count / E : 0;
  int threads = 256;
  int device = 0, sms = 0;
  KVS_CUDA_TRY(cudaGetDevice(&device));
  KVS_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  auto blocks_for = [&](size_t items) {
    size_t want = (items + threads - 1) / threads;
    return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(want, static_cast<size_t>(sms) * 8)));
  };
  if (vectors > 0)
    sum_vectors<T><<<blocks_for(vectors), threads, 0, s>>>(a, vectors);
  size_t first = vectors * E;
  if (first < a.count)
    sum_elements<T><<<blocks_for(a.count - first), threads, 0, s>>>(a, first);
  KVS_CUDA_TRY(cudaGetLastError());
}

}  // namespace

void sum(stream& st, kvs::dtype t, void* dst, const std::vector<const void*>& srcs, size_t count,
         bool accumulate) {
  if (srcs.empty())
    throw kvs::error(errc::invalid_argument, "a GPU sum needs at least one input");
  if (count == 0)
    return;
  int previous = 0;
  KVS_CUDA_TRY(cudaGetDevice(&previous));
  KVS_CUDA_TRY(cudaSetDevice(st.device()));
  auto s = static_cast<cudaStream_t>(st.handle());
  try {
    for (size_t first = 0; first < srcs.size(); first += max_inputs) {
      sum_args a{};
      a.n = static_cast<int>(std::min<size_t>(max_inputs, srcs.size() - first));
      for (int k = 0; k < a.n; ++k)
        a.src[k] = srcs[first + k];
      a.dst = dst;
      a.count = count;
      a.accumulate = accumulate || first > 0;
      switch (t) {
        case kvs::dtype::f32: launch<float>(s, a); break;
        case kvs::dtype::f64: launch<double>(s, a); break;
        case kvs::dtype::f16: launch<__half>(s, a); break;
        case kvs::dtype::bf16: launch<__nv_bfloat16>(s, a); break;
        default:
          throw kvs::error(errc::unsupported, std::string("the GPU reducer sums f16, bf16, f32 "
                                                          "and f64, not ") + kvs::to_string(t));
      }
    }
    st.synchronize();
  } catch (...) {
    cudaStreamSynchronize(s);  // batches already launched still write dst: let them end
    cudaSetDevice(previous);
    throw;
  }
  KVS_CUDA_TRY(cudaSetDevice(previous));
}

}  // namespace kvs::cuda
