#include "core/thread_pool.hpp"

namespace kvs::detail {

thread_pool::thread_pool(size_t threads) {
  for (size_t i = 1; i < threads; ++i)
    workers_.emplace_back([this] { run_worker(); });
}

thread_pool::~thread_pool() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_)
    t.join();
}

// Takes tasks until none is left; called with mtx_ unlocked.
void thread_pool::drain() {
  for (;;) {
    size_t i;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (next_ >= tasks_)
        return;
      i = next_++;
    }
    (*body_)(i);
    std::lock_guard<std::mutex> guard{mtx_};
    if (++finished_ == tasks_)
      done_.notify_all();
  }
}

void thread_pool::run_worker() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mtx_};
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_)
        return;
      seen = generation_;
    }
    drain();
  }
}

void thread_pool::parallel_for(size_t tasks, const std::function<void(size_t)>& body) {
  if (tasks == 0)
    return;
  if (workers_.empty() || tasks == 1) {
    for (size_t i = 0; i < tasks; ++i)
      body(i);
    return;
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    body_ = &body;
    tasks_ = tasks;
    next_ = 0;
    finished_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  drain();
  std::unique_lock<std::mutex> lock{mtx_};
  done_.wait(lock, [&] { return finished_ == tasks_; });
  body_ = nullptr;
}

}  // namespace kvs::detail
