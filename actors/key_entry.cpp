#include "actors/key_entry.hpp"

namespace kvs::detail {

namespace {
void run_next(key_entry& e) {
  e.draining = true;
  while (!e.busy && !e.waiting.empty()) {
    auto task = std::move(e.waiting.front().run);
    e.waiting.pop_front();
    e.busy = true;
    task();
  }
  e.draining = false;
}
}  // namespace

std::string key_name(const key_entry& e) {
  auto name = "key " + e.key.to_string();
  return e.part == 0 ? name : name + " (part " + std::to_string(e.part) + ")";
}

void enqueue(key_entry& e, std::function<void()> task, item_done fail) {
  e.waiting.push_back(queued_op{std::move(task), std::move(fail), std::chrono::steady_clock::now()});
  if (!e.busy && !e.draining)
    run_next(e);
}

void enqueue_next(key_entry& e, std::function<void()> task, item_done fail) {
  e.waiting.push_front(
      queued_op{std::move(task), std::move(fail), std::chrono::steady_clock::now()});
  if (!e.busy && !e.draining)
    run_next(e);
}

void release(key_entry& e) {
  e.busy = false;
  if (!e.draining)
    run_next(e);
}

std::optional<std::chrono::steady_clock::time_point> fail_queued_before(
    key_entry& e, std::chrono::steady_clock::time_point cutoff, const kvs::error& err) {
  std::vector<item_done> failed;
  std::optional<std::chrono::steady_clock::time_point> oldest;
  for (auto i = e.waiting.begin(); i != e.waiting.end();) {
    if (i->fail && i->since <= cutoff) {
      failed.push_back(std::move(i->fail));
      i = e.waiting.erase(i);
      continue;
    }
    if (!oldest || i->since < *oldest)
      oldest = i->since;
    ++i;
  }
  for (auto& f : failed)
    f(err, ndarray());
  return oldest;
}

}  // namespace kvs::detail
