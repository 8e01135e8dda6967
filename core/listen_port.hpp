#pragma once
// A TCP port for a scheduler to listen on (the launcher's and the test
// clusters'), without CAF: kvs-launch links no more than it needs.

namespace kvs::detail {

// A port nothing listens on right now, picked at random below the kernel's
// ephemeral range (32768 and up on Linux): a port from that range (bind to
// 0) can be taken, before the scheduler listens on it, as the local port of
// any outgoing connection on the host ("cannot open port", seen in test
// clusters running beside each other). Throws std::runtime_error when 200
// tries found none.
int free_listen_port();

}  // namespace kvs::detail
