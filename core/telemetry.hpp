#pragma once
// What a node records about its own work: counters per key (stats()) and,
// when KVS_TIMELINE names a file, a Chrome trace of every stage of every
// operation (docs/training.md). One per store or served node, shared by its
// actors; thread-safe. Off, a hook is one branch on tracing().
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kvs/stats.hpp"

namespace kvs::detail {

class telemetry {
public:
  using clock = std::chrono::system_clock;  // one time axis for every process's file
  // `path` empty: no timeline. `process`: the trace's process name.
  telemetry(std::string path, std::string process);
  ~telemetry();  // writes the timeline
  telemetry(const telemetry&) = delete;
  telemetry& operator=(const telemetry&) = delete;

  bool tracing() const { return tracing_; }
  // The file and the process's name, once known (a server learns its rank
  // after it started).
  void set_path(std::string path, std::string process);
  // One finished operation of key k; `gradient_rows`: kvs::key_stats::sparse_gradient_rows;
  // `shm_bytes`, `shm_in_place_bytes`: kvs::key_stats' fields of those names.
  void count(const kvs::key& k, uint64_t bytes_out, uint64_t bytes_in, bool round,
             uint64_t gradient_rows, uint64_t shm_bytes, uint64_t shm_in_place_bytes);
  // Key k's place in stats() (the order keys were first used), before any
  // operation of it finished: operations of different keys finish in any order.
  void first_use(const kvs::key& k);
  kvs::store_stats stats() const;
  // A stage of key k that ran from `begin` until now (timeline only).
  void span(const kvs::key& k, const char* stage, clock::time_point begin, int64_t bytes);
  // Writes the trace now (also at destruction); throws io_error.
  void write() const;

private:
  struct event {
    size_t key;  // index into keys_
    const char* stage;
    int64_t begin_us, dur_us, bytes;
  };
  size_t index_of(const kvs::key& k);  // under mtx_

  const bool tracing_;
  std::string path_, process_;
  mutable std::mutex mtx_;
  std::vector<std::pair<kvs::key, kvs::key_stats>> keys_;
  std::unordered_map<kvs::key, size_t, kvs::key_hash> index_;
  kvs::key_stats total_;
  std::vector<event> events_;
  // The trace is kept in memory until the end: capped, so a long job's
  // memory stays bounded (the first events are kept, the rest counted).
  static constexpr size_t max_events = 2'000'000;  // about 80 MB
  size_t dropped_ = 0;
};

// The timeline file of a node: `path` itself for a local store, else the
// role and rank before its extension (trace.json -> trace.worker0.json).
std::string timeline_path(const std::string& path, const std::string& role, int rank);

}  // namespace kvs::detail
