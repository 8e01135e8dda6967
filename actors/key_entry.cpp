#include "actors/key_entry.hpp"

namespace kvs::detail {

namespace {
void run_next(key_entry& e) {
  e.draining = true;
  while (!e.busy && !e.waiting.empty()) {
    auto task = std::move(e.waiting.front());
    e.waiting.pop_front();
    e.busy = true;
    task();
  }
  e.draining = false;
}
}  // namespace

void enqueue(key_entry& e, std::function<void()> task) {
  e.waiting.push_back(std::move(task));
  if (!e.busy && !e.draining)
    run_next(e);
}

void release(key_entry& e) {
  e.busy = false;
  if (!e.draining)
    run_next(e);
}

}  // namespace kvs::detail
