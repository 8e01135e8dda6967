#pragma once
// Captures what the process writes to stderr (fd 2) while it lives: the
// stall reports of shards running in this process, for instance.
#include <unistd.h>

#include <cstdio>
#include <string>

class stderr_capture {
public:
  stderr_capture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_ = ::dup(2);
    ::dup2(::fileno(file_), 2);
  }
  ~stderr_capture() {
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    std::fclose(file_);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;

  // Everything written so far.
  std::string text() const {
    std::fflush(stderr);
    std::string out;
    char buf[4096];
    auto fd = ::fileno(file_);
    off_t at = 0;
    ssize_t n;
    while ((n = ::pread(fd, buf, sizeof(buf), at)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      at += n;
    }
    return out;
  }

  // How many lines so far contain `part`.
  size_t lines_with(const std::string& part) const {
    auto all = text();
    size_t count = 0, begin = 0;
    while (begin < all.size()) {
      auto end = all.find('\n', begin);
      if (end == std::string::npos)
        end = all.size();
      if (all.substr(begin, end - begin).find(part) != std::string::npos)
        ++count;
      begin = end + 1;
    }
    return count;
  }

private:
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};
