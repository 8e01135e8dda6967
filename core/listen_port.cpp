#include "core/listen_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <stdexcept>

namespace kvs::detail {

int free_listen_port() {
  static thread_local std::mt19937 pick{std::random_device{}() ^ static_cast<unsigned>(::getpid())};
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = std::uniform_int_distribution<int>(20000, 32000)(pick);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      break;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (free)
      return port;
  }
  throw std::runtime_error("no free TCP port in [20000, 32000] for the scheduler after 200 tries");
}

}  // namespace kvs::detail
