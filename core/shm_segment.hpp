#pragma once
// Shared memory between processes of one host (docs/distributed.md, "Two
// planes"): a worker's segment, and a server's mapping of it.
//
// The worker makes the segment with memfd_create (no /dev/shm needed),
// sizes it and seals it against shrinking and growing, so a peer can never
// make another process's mapping fault (SIGBUS); its first bytes hold a
// random 128-bit nonce. It announces {pid, fd, size, nonce} over the actors'
// (authenticated) channel; the server opens /proc/<pid>/fd/<fd> (the kernel
// allows it only to the same user, under its ptrace rules), checks the seals
// and the size, maps it and reads the nonce: that read is the proof that both
// run on one host. Nothing else a peer says about its host is trusted.
#include <cstdint>
#include <memory>
#include <string>

namespace kvs::detail {

struct shm_nonce {
  uint64_t hi = 0, lo = 0;
  bool operator==(const shm_nonce& o) const { return hi == o.hi && lo == o.lo; }
};

// The segment's first bytes (the nonce, then padding): no data range starts
// below this offset.
constexpr uint64_t shm_header_bytes = 64;

class shm_segment {
public:
  // A sealed segment of `bytes` (at least shm_header_bytes more than the
  // data it can hold); throws kvs::error io_error saying which call failed.
  explicit shm_segment(uint64_t bytes);
  ~shm_segment();
  shm_segment(const shm_segment&) = delete;
  shm_segment& operator=(const shm_segment&) = delete;

  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  const shm_nonce& nonce() const { return nonce_; }
  // The segment's memory (this process's mapping).
  uint8_t* base() const { return base_; }

private:
  int fd_ = -1;
  uint64_t size_ = 0;
  uint8_t* base_ = nullptr;
  shm_nonce nonce_;
};

// Another process's segment, mapped here. Every range is checked against the
// mapping before it is touched.
class shm_mapping {
public:
  // Opens, checks and maps the segment a peer announced; throws kvs::error
  // (io_error: cannot open or map; invalid_argument: not sealed, another
  // size, the nonce differs) saying why, so that peer stays on CAF.
  shm_mapping(int64_t pid, int64_t fd, uint64_t size, const shm_nonce& nonce);
  ~shm_mapping();
  shm_mapping(const shm_mapping&) = delete;
  shm_mapping& operator=(const shm_mapping&) = delete;

  uint64_t size() const { return size_; }
  // The memory of [offset, offset + bytes); throws kvs::error invalid_argument
  // naming the range when it is not inside the data part of the segment.
  uint8_t* range(uint64_t offset, uint64_t bytes, const std::string& what) const;

private:
  uint64_t size_ = 0;
  uint8_t* base_ = nullptr;
};

}  // namespace kvs::detail
