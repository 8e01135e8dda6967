#include "host_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kvs::launch {

std::string numeric_address(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr)
    throw std::runtime_error("cannot resolve the host '" + host + "' (" + gai_strerror(rc) +
                             "); name hosts the others can reach, or set --env "
                             "DMLC_NODE_HOST:ADDRESS and --root-uri");
  char buf[INET_ADDRSTRLEN] = "";
  auto* in = reinterpret_cast<sockaddr_in*>(found->ai_addr);
  inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
  freeaddrinfo(found);
  return buf;
}

std::string local_address_towards(const std::string& address) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);  // any port: a UDP connect only picks the route
  if (inet_pton(AF_INET, address.c_str(), &to.sin_addr) != 1)
    throw std::runtime_error("'" + address + "' is not an IPv4 address");
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in from{};
  socklen_t len = sizeof(from);
  bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&from), &len) == 0;
  int err = errno;
  if (fd >= 0)
    ::close(fd);
  if (!ok)
    throw std::runtime_error("no route from this machine to " + address + " (" +
                             std::strerror(err) + "); set --root-uri");
  char buf[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &from.sin_addr, buf, sizeof(buf));
  return buf;
}

}  // namespace kvs::launch
