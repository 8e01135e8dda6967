#include "core/telemetry.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "kvs/error.hpp"

namespace kvs::detail {

namespace {
int64_t micros(telemetry::clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
}  // namespace

telemetry::telemetry(std::string path, std::string process)
    : tracing_(!path.empty()), path_(std::move(path)), process_(std::move(process)) {}

void telemetry::set_path(std::string path, std::string process) {
  std::lock_guard<std::mutex> lock{mtx_};
  path_ = std::move(path);
  process_ = std::move(process);
}

telemetry::~telemetry() {
  if (!tracing())
    return;
  try {
    write();
  } catch (const std::exception& e) {
    log::warn(std::string("kvs: timeline: ") + e.what());
  }
}

size_t telemetry::index_of(const kvs::key& k) {
  auto it = index_.find(k);
  if (it != index_.end())
    return it->second;
  index_.emplace(k, keys_.size());
  keys_.emplace_back(k, kvs::key_stats{});
  return keys_.size() - 1;
}

void telemetry::count(const kvs::key& k, uint64_t bytes_out, uint64_t bytes_in, bool round,
                      uint64_t gradient_rows, uint64_t shm_bytes, uint64_t shm_in_place_bytes) {
  std::lock_guard<std::mutex> lock{mtx_};
  for (auto* c : {&keys_[index_of(k)].second, &total_}) {
    ++c->operations;
    c->bytes_out += bytes_out;
    c->bytes_in += bytes_in;
    c->rounds += round ? 1 : 0;
    c->sparse_gradient_rows += gradient_rows;
    c->shm_bytes += shm_bytes;
    c->shm_in_place_bytes += shm_in_place_bytes;
  }
}

void telemetry::first_use(const kvs::key& k) {
  std::lock_guard<std::mutex> lock{mtx_};
  index_of(k);
}

kvs::store_stats telemetry::stats() const {
  std::lock_guard<std::mutex> lock{mtx_};
  return kvs::store_stats{total_, keys_};
}

void telemetry::span(const kvs::key& k, const char* stage, clock::time_point begin,
                     int64_t bytes) {
  auto now = clock::now();
  std::lock_guard<std::mutex> lock{mtx_};
  if (events_.size() >= max_events) {
    if (dropped_++ == 0)
      log::warn("kvs: the timeline of " + process_ + " is full (" + std::to_string(max_events) +
                " events); later events are not recorded");
    return;
  }
  events_.push_back(event{index_of(k), stage, micros(begin), micros(now) - micros(begin), bytes});
}

void telemetry::write() const {
  std::lock_guard<std::mutex> lock{mtx_};
  // Chrome's trace event format: one process, one thread (track) per key.
  auto pid = static_cast<int>(std::hash<std::string>{}(process_) % 100000);
  auto trace = nlohmann::json::array();
  trace.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid},
                   {"args", {{"name", process_}}}});
  for (size_t i = 0; i < keys_.size(); ++i)
    trace.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", pid}, {"tid", i},
                     {"args", {{"name", "key " + keys_[i].first.to_string()}}}});
  for (auto& e : events_)
    trace.push_back({{"name", e.stage}, {"cat", "kvs"}, {"ph", "X"}, {"pid", pid},
                     {"tid", e.key}, {"ts", e.begin_us}, {"dur", e.dur_us},
                     {"args", {{"bytes", e.bytes}, {"key", keys_[e.key].first.to_string()}}}});
  std::ofstream out(path_);
  out << nlohmann::json{{"traceEvents", trace}, {"displayTimeUnit", "ms"}}.dump() << "\n";
  if (!out)
    throw kvs::error(errc::io_error, "cannot write the timeline \"" + path_ + "\"");
  log::info("kvs: timeline of " + process_ + " written to " + path_ + " (" +
            std::to_string(events_.size()) + " events" +
            (dropped_ > 0 ? ", " + std::to_string(dropped_) + " more not recorded" : "") + ")");
}

std::string timeline_path(const std::string& path, const std::string& role, int rank) {
  if (path.empty() || role.empty())
    return path;
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  auto tag = "." + role + std::to_string(rank);
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return path + tag;
  return path.substr(0, dot) + tag + path.substr(dot);
}

}  // namespace kvs::detail
