#pragma once
// Driving a key shard directly, as a worker would: batches of part requests.
#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "messages/shard_actor.hpp"

inline kvs::batch_reply ask(caf::scoped_actor& self, const kvs::shard_actor& shard,
                            kvs::part_batch batch) {
  kvs::batch_reply out;
  self->request(shard, std::chrono::seconds(10), kvs::batch_atom::value, std::move(batch))
      .receive([&](kvs::batch_reply& r) { out = std::move(r); },
               [&](caf::error&) { FAIL("no answer"); });
  return out;
}

inline kvs::part_request request(kvs::part_op op, int k, std::vector<kvs::array_view> in,
                                 std::vector<kvs::array_view> out = {}) {
  kvs::part_request r;
  r.op = op;
  r.id = kvs::part_id{kvs::key(k), 0};
  r.inputs = std::move(in);
  r.outputs = std::move(out);
  return r;
}

// An answer that failed with `code`, its message naming each of `parts`.
inline void require_failure(const kvs::part_result& r, kvs::errc code,
                            std::initializer_list<const char*> parts) {
  INFO(r.message);
  REQUIRE_FALSE(r.ok);
  REQUIRE(static_cast<kvs::errc>(r.code) == code);
  for (auto p : parts)
    REQUIRE(r.message.find(p) != std::string::npos);
}
