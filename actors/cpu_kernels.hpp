#pragma once
// The CPU reduction and copy loops, shared by the reducer actor (big arrays,
// several threads) and the shard (small arrays, inline). One pass over all
// inputs: each input is read once and the destination written once.
#include <cstdint>

#include "kvs/error.hpp"
#include "messages/reducer_actor.hpp"

namespace kvs::detail {

// Throws kvs::error when the views disagree in dtype or count, or lie outside
// their arrays.
void check_job(const reduce_job& job);
void check_job(const copy_job& job);

// Starts the job on a reducer (start_job); throws when its sender withdrew it.
template <class Job>
void claim_job(const Job& job) {
  if (!start_job(job))
    throw kvs::error(errc::timeout, "the job was withdrawn by its sender at its deadline");
}

// Where a view's first element lies (host or GPU memory), as bytes.
char* view_memory(const array_view& v);

// Elements [begin, end) of the job, counted from each view's offset.
void sum_range(const reduce_job& job, uint64_t begin, uint64_t end);
void copy_range(const copy_job& job, uint64_t begin, uint64_t end);

}  // namespace kvs::detail
