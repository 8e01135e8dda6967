#include <cerrno>
#include <climits>
#include <cstdlib>
#include <thread>

#include "kvs/config.hpp"
#include "kvs/error.hpp"

namespace kvs {

namespace {

const char* env(const config& cfg, const char* name) {
  if (!cfg.read_environment)
    return nullptr;
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// Strict: the whole value must be a number within [lo, hi].
int64_t parse_int(const char* name, const char* text, int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
    throw error(errc::invalid_config, std::string(name) + "='" + text +
                                          "' is not a whole number in [" + std::to_string(lo) +
                                          ", " + std::to_string(hi) + "]");
  return v;
}

template <class T>
void fill(T& field, T unset, const config& cfg, const char* var, T fallback, int64_t lo,
          int64_t hi) {
  if (field != unset)
    return;
  if (auto text = env(cfg, var))
    field = static_cast<T>(parse_int(var, text, lo, hi));
  else
    field = fallback;
}

void check_positive(const char* field, int64_t value, int64_t lo) {
  if (value < lo)
    throw error(errc::invalid_config, std::string("config.") + field + " = " +
                                          std::to_string(value) + " is below " + std::to_string(lo));
}

}  // namespace

config config::resolved() const {
  config out = *this;
  if (out.request_timeout == std::chrono::milliseconds(30000)) {
    if (auto text = env(out, "KVS_REQUEST_TIMEOUT"))
      out.request_timeout =
          std::chrono::milliseconds(parse_int("KVS_REQUEST_TIMEOUT", text, 1, INT64_C(86400000)));
  }
  check_positive("request_timeout", out.request_timeout.count(), 1);
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  fill(out.scheduler_threads, 0, out, "KVS_SCHEDULER_THREADS", cores, 1, 1024);
  fill(out.bigarray_bound, int64_t{0}, out, "MXNET_KVSTORE_BIGARRAY_BOUND", int64_t{1000000}, 1,
       INT64_MAX);
  fill(out.reduction_threads, 0, out, "MXNET_KVSTORE_REDUCTION_NTHREADS", 4, 1, 256);
  fill(out.local_shards, 0, out, "KVS_LOCAL_SHARDS", 4, 1, 1024);
  fill(out.max_inflight, 0, out, "KVS_MAX_INFLIGHT", 64, 1, 1 << 20);
  fill(out.inline_bound, int64_t{-1}, out, "KVS_INLINE_BOUND", int64_t{16384}, 0, INT64_MAX);
  check_positive("scheduler_threads", out.scheduler_threads, 1);
  check_positive("bigarray_bound", out.bigarray_bound, 1);
  check_positive("reduction_threads", out.reduction_threads, 1);
  check_positive("local_shards", out.local_shards, 1);
  check_positive("max_inflight", out.max_inflight, 1);
  check_positive("inline_bound", out.inline_bound, 0);
  return out;
}

}  // namespace kvs
