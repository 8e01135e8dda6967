// Fuzz target: what the coordinator (scheduler) and a server node read from
// another process (messages/cluster_actors.hpp). The first byte picks the
// message: a node's introduction, the registration answer a node reads, a
// rank (barrier, done, worker_down), a command (head and body).
#include <string>

#include "fuzz/fuzz_target.hpp"
#include "messages/cluster_actors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvs;
  if (size == 0)
    return 0;
  auto* rest = data + 1;
  auto n = size - 1;
  switch (data[0] % 4) {
    case 0: fuzz::decode<node_info>(rest, n); break;
    case 1: fuzz::decode<registration>(rest, n); break;
    case 2: fuzz::decode<int32_t>(rest, n); break;
    case 3: fuzz::decode<int32_t, std::string>(rest, n); break;
  }
  return 0;
}
