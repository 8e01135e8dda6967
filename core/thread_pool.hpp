#pragma once
// A fixed set of threads that run one parallel loop at a time; the calling
// thread takes a share of the work too.
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kvs::detail {

class thread_pool {
public:
  explicit thread_pool(size_t threads);  // total, the caller included
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  size_t size() const { return workers_.size() + 1; }
  // Runs body(0) .. body(tasks - 1) and returns when all are done.
  void parallel_for(size_t tasks, const std::function<void(size_t)>& body);

private:
  void run_worker();
  void drain();
  std::vector<std::thread> workers_;
  std::mutex mtx_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* body_ = nullptr;
  size_t tasks_ = 0, next_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace kvs::detail
