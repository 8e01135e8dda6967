#pragma once
// Addresses for a job across hosts: each node binds and advertises one its
// peers can reach, and the scheduler one the remote hosts can reach.
#include <string>

namespace kvs::launch {

// The numeric IPv4 address of `host` (a name or an address) as this
// machine resolves it; throws std::runtime_error naming the host.
std::string numeric_address(const std::string& host);

// The address of this machine that packets to `address` leave from (the
// route's source; nothing is sent); throws std::runtime_error.
std::string local_address_towards(const std::string& address);

}  // namespace kvs::launch
