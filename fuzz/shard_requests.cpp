// Fuzz target: what a key shard (and the worker and updater it talks to)
// reads from another process. The first byte picks the message, the rest
// are its bytes: each request of the shard's interface
// (messages/shard_actor.hpp), the batch reply a worker reads, and the update
// request an updater reads, and a worker's shared memory announcement.
#include "fuzz/fuzz_target.hpp"
#include "kvs/updater_actor.hpp"
#include "messages/shard_actor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvs;
  if (size == 0)
    return 0;
  auto* rest = data + 1;
  auto n = size - 1;
  switch (data[0] % 9) {
    case 0: fuzz::decode<part_batch>(rest, n); break;
    case 1: fuzz::decode<updater_setting>(rest, n); break;
    case 2: fuzz::decode<std::vector<key_state>, bool>(rest, n); break;
    case 3: fuzz::decode<bool>(rest, n); break;
    case 4: fuzz::decode<int32_t>(rest, n); break;
    case 5: fuzz::decode<batch_reply>(rest, n); break;
    case 6: fuzz::decode<update_request>(rest, n); break;
    case 7: fuzz::decode<shm_announce>(rest, n); break;
    case 8: fuzz::decode<shm_echo>(rest, n); break;
  }
  return 0;
}
