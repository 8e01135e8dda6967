#pragma once
// Recycles big host buffers. Training moves the same sizes every step
// (received parts, reply snapshots, merge buffers); a fresh buffer costs a
// page fault per 4 KiB on first touch (2.5 GB/s here, against 32 GB/s for a
// reused one), so freed buffers of 64 KiB and more wait here, by exact size,
// for the next request of that size. Like malloc's own caches this is
// process-wide; it keeps at most 1 GiB, in 16 shards by size, each with its
// own lock. Once the process uses a GPU (allocated device memory) these
// buffers are page-locked, for fast copies to and from the GPUs, up to
// 2 GiB in all; a process without GPU arrays never page-locks (that would
// create a CUDA context).
#include <cstddef>

namespace kvs::detail {

// 64-byte aligned; `bytes` is rounded up to a multiple of 64.
void* acquire_buffer(size_t bytes);
void release_buffer(void* p, size_t bytes);

}  // namespace kvs::detail
