#include "core/shm_segment.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "kvs/error.hpp"

namespace kvs::detail {

namespace {

constexpr int required_seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

[[noreturn]] void fail(errc code, const std::string& what) {
  throw kvs::error(code, what + ": " + std::strerror(errno));
}

}  // namespace

shm_nonce random_shm_nonce() {
  shm_nonce n;
  uint64_t words[2];
  auto got = getrandom(words, sizeof(words), 0);
  if (got != static_cast<ssize_t>(sizeof(words)))
    fail(errc::io_error, "shared memory segment: getrandom");
  n.hi = words[0];
  n.lo = words[1];
  return n;
}

shm_segment::shm_segment(uint64_t bytes) : size_(bytes) {
  if (bytes <= shm_header_bytes)
    throw kvs::error(errc::invalid_argument, "shared memory segment of " + std::to_string(bytes) +
                                                 " bytes: not above its " +
                                                 std::to_string(shm_header_bytes) + "-byte header");
  fd_ = memfd_create("kvs-data-plane", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd_ < 0)
    fail(errc::io_error, "shared memory segment: memfd_create");
  // Sealed before anyone else can see it: its size never changes.
  if (ftruncate(fd_, static_cast<off_t>(bytes)) != 0 || fcntl(fd_, F_ADD_SEALS, required_seals) != 0) {
    int e = errno;
    close(fd_);
    errno = e;
    fail(errc::io_error, "shared memory segment of " + std::to_string(bytes) + " bytes: size or seal");
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd_);
    errno = e;
    fail(errc::io_error, "shared memory segment: mmap of " + std::to_string(bytes) + " bytes");
  }
  base_ = static_cast<uint8_t*>(p);
  nonce_ = random_shm_nonce();
  std::memcpy(base_, &nonce_, sizeof(nonce_));
}

shm_nonce shm_segment::challenge() const {
  shm_nonce c;
  std::memcpy(&c, base_ + shm_challenge_offset, sizeof(c));
  return c;
}

shm_segment::~shm_segment() {
  munmap(base_, size_);
  close(fd_);
}

shm_mapping::shm_mapping(int64_t pid, int64_t fd, uint64_t size, const shm_nonce& nonce)
    : size_(size) {
  if (pid <= 0 || fd < 0 || fd > INT32_MAX || size <= shm_header_bytes ||
      size > shm_max_segment_bytes)
    throw kvs::error(errc::invalid_argument, "a shared memory segment announced as pid " +
                                                 std::to_string(pid) + ", fd " + std::to_string(fd) +
                                                 ", " + std::to_string(size) + " bytes: malformed");
  auto path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  // A peer names the path: never block on it (a FIFO), never take it as our
  // terminal, and look at what it is before anything else.
  int f = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (f < 0)
    fail(errc::io_error, "cannot open " + path + " (another host, another user, or ptrace rules)");
  struct stat st {};
  struct statfs fs {};
  if (fstat(f, &st) != 0 || fstatfs(f, &fs) != 0) {
    int e = errno;
    close(f);
    errno = e;
    fail(errc::io_error, path + ": fstat");
  }
  // A hugetlbfs page read when none is free raises SIGBUS in the reader.
  if (!S_ISREG(st.st_mode) || fs.f_type == HUGETLBFS_MAGIC) {
    close(f);
    throw kvs::error(errc::invalid_argument,
                     path + ": not a plain memory file (a hugetlbfs file, or not a regular file)");
  }
  int seals = fcntl(f, F_GET_SEALS);
  if (seals < 0) {
    int e = errno;
    close(f);
    errno = e;
    fail(errc::io_error, path + ": F_GET_SEALS (not a memfd?)");
  }
  // Without these seals the peer could shrink the file under our mapping.
  if ((seals & required_seals) != required_seals || static_cast<uint64_t>(st.st_size) != size) {
    close(f);
    throw kvs::error(errc::invalid_argument,
                     path + ": not a sealed segment of the announced " + std::to_string(size) +
                         " bytes (it has " + std::to_string(st.st_size) + " bytes, seals " +
                         std::to_string(seals) + ")");
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
  int e = errno;
  close(f);  // the mapping keeps the memory
  errno = e;
  if (p == MAP_FAILED)
    fail(errc::io_error, path + ": mmap of " + std::to_string(size) + " bytes");
  base_ = static_cast<uint8_t*>(p);
  shm_nonce seen;
  std::memcpy(&seen, base_, sizeof(seen));
  if (!(seen == nonce)) {
    munmap(base_, size_);
    base_ = nullptr;
    throw kvs::error(errc::invalid_argument,
                     path + ": the segment does not hold the announced nonce (another host's "
                            "process, or not the announcer's segment)");
  }
}

shm_mapping::~shm_mapping() {
  if (base_ != nullptr)
    munmap(base_, size_);
}

void shm_mapping::write_challenge(const shm_nonce& c) {
  std::memcpy(base_ + shm_challenge_offset, &c, sizeof(c));
}

void shm_mapping::throw_outside(uint64_t offset, uint64_t bytes, const std::string& what) const {
  throw kvs::error(errc::invalid_argument,
                   what + ": bytes [" + std::to_string(offset) + ", +" + std::to_string(bytes) +
                       ") are not inside the data of a segment of " + std::to_string(size_) +
                       " bytes");
}

}  // namespace kvs::detail
