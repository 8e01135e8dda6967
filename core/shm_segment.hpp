#pragma once
// Shared memory between processes of one host (docs/distributed.md, "Two
// planes"): a worker's segment, and a server's mapping of it.
//
// The worker makes the segment with memfd_create (no /dev/shm needed),
// sizes it and seals it against shrinking and growing, so a peer can never
// make another process's mapping fault (SIGBUS); its first bytes hold a
// random 128-bit nonce. It announces {pid, fd, size, nonce} over the actors'
// (authenticated) channel, to servers whose node id names this host only;
// the server opens /proc/<pid>/fd/<fd> (the kernel allows it only to the
// same user, under its ptrace rules), checks it is a sealed regular file,
// not on hugetlbfs, of the announced size (capped), maps it and reads the
// nonce. The nonce alone proves nothing about who sent it (a peer that was
// told it can replay it): the server then writes a fresh random challenge
// into the segment's header, and binds the segment to the announcer's node
// only when that node echoes the challenge back, which only a process that
// can read the segment (its owner, on this host) can do.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

namespace kvs::detail {

struct shm_nonce {
  uint64_t hi = 0, lo = 0;
  bool operator==(const shm_nonce& o) const { return hi == o.hi && lo == o.lo; }
};

// The segment's first bytes (the nonce, then a server's challenge, then
// padding): no data range starts below this offset.
constexpr uint64_t shm_header_bytes = 64;
constexpr uint64_t shm_challenge_offset = 16;
// Every data range starts on this boundary (core/shm_ranges.hpp hands them
// out so; a server refuses any other).
constexpr uint64_t shm_range_alignment = 64;
// The largest segment a server maps (a bigger announcement is refused: it
// would only spend the server's address space).
constexpr uint64_t shm_max_segment_bytes = uint64_t{1} << 40;

// 128 random bits from the kernel; throws kvs::error io_error.
shm_nonce random_shm_nonce();

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
  // The challenge a server last wrote into the header.
  shm_nonce challenge() const;

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
  // `what` is a string or a function giving one, called only then (ranges
  // are resolved per key part: no text is built for the ones that fit).
  template <class What>
  uint8_t* range(uint64_t offset, uint64_t bytes, const What& what) const {
    if (offset < shm_header_bytes || offset > size_ || bytes > size_ - offset) {
      if constexpr (std::is_invocable_v<const What&>)
        throw_outside(offset, bytes, what());
      else
        throw_outside(offset, bytes, what);
    }
    return base_ + offset;
  }
  // Writes a challenge into the segment's header, for its owner to echo.
  void write_challenge(const shm_nonce& c);

private:
  [[noreturn]] void throw_outside(uint64_t offset, uint64_t bytes, const std::string& what) const;

  uint64_t size_ = 0;
  uint8_t* base_ = nullptr;
};

}  // namespace kvs::detail
