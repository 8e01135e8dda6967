#include "core/graph_store.hpp"

#include <iostream>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/function_updater.hpp"
#include "actors/key_shard.hpp"
#include "actors/worker.hpp"
#include "core/array_impl.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

namespace {

// Groups a list call by key, in order of first appearance: repeated keys in
// one call are one operation over all their arrays.
template <class Fn>
void for_each_group(const kvstore::key_list& keys, Fn fn) {
  std::vector<bool> done(keys.size(), false);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (done[i])
      continue;
    std::vector<size_t> members;
    for (size_t j = i; j < keys.size(); ++j)
      if (!done[j] && keys[j] == keys[i]) {
        done[j] = true;
        members.push_back(j);
      }
    fn(keys[i], members);
  }
}

}  // namespace

graph_store::graph_store(std::string type, const config& cfg)
    : type_(std::move(type)), cfg_(cfg.resolved()) {
  sys_cfg_.set("scheduler.max-threads", static_cast<size_t>(cfg_.scheduler_threads));
  sys_cfg_.set("logger.verbosity", caf::atom("quiet"));
  // Idle scheduler threads poll without sleeping before they block on a
  // condition variable: CAF's default 50 us naps between polls dominate the
  // latency of small operations (a sleep_for rounds up to the timer slack).
  sys_cfg_.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  system_ = std::make_unique<caf::actor_system>(sys_cfg_);
  reducer_ = spawn_cpu_reducer(*system_, cfg_.reduction_threads, cfg_.bigarray_bound);
  shard_options sopts{1, cfg_.inline_bound, cfg_.request_timeout};
  for (int i = 0; i < cfg_.local_shards; ++i)
    shards_.push_back(spawn_key_shard(*system_, reducer_, sopts));
  worker_options wopts{0, cfg_.max_inflight, cfg_.request_timeout, 0};
  worker_ = spawn_worker(*system_, shards_, wopts);
}

graph_store::~graph_store() {
  try {
    tracker_->wait_all(wait_limit());
  } catch (const std::exception&) {
    // Failures nobody asked for end with the store; destruction must not throw.
  }
  caf::anon_send_exit(worker_, caf::exit_reason::user_shutdown);
  for (auto& s : shards_)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(reducer_, caf::exit_reason::user_shutdown);
  if (owned_updater_)
    caf::anon_send_exit(owned_updater_, caf::exit_reason::user_shutdown);
  worker_ = nullptr;
  shards_.clear();
  reducer_ = nullptr;
  owned_updater_ = nullptr;
  system_.reset();  // waits for every actor to finish
}

std::chrono::milliseconds graph_store::wait_limit() const {
  // The worker gives a shard twice the request timeout; waits outlast that.
  return 2 * cfg_.request_timeout + std::chrono::milliseconds(10000);
}

const graph_store::key_meta& graph_store::meta_of(const char* op, const key& k) const {
  auto i = keys_.find(k);
  if (i == keys_.end())
    throw error(errc::key_not_initialized,
                std::string(op) + ": key " + k.to_string() + " is not initialized");
  return i->second;
}

void graph_store::check_value(const char* op, const key& k, const ndarray& v,
                              const char* role) const {
  auto& m = meta_of(op, k);
  if (v.shape() != m.dims)
    throw error(errc::shape_mismatch, std::string(op) + ": key " + k.to_string() + " has shape " +
                                          to_string(m.dims) + " but the " + role + " has shape " +
                                          to_string(v.shape()));
  if (v.dtype() != m.type)
    throw error(errc::dtype_mismatch, std::string(op) + ": key " + k.to_string() + " has dtype " +
                                          to_string(m.type) + " but the " + role + " has dtype " +
                                          to_string(v.dtype()));
}

std::shared_ptr<operation> graph_store::make_op(op_kind kind, const key& k, int priority) {
  auto op = std::make_shared<operation>();
  op->kind = kind;
  op->key = k;
  op->priority = priority;
  op->tracker = tracker_;
  return op;
}

void graph_store::submit(std::vector<std::shared_ptr<operation>> ops) {
  if (ops.empty())
    return;
  auto limit = wait_limit();
  for (auto& op : ops) {
    for (auto& a : op->inputs)
      ndarray_access_begin_read(a, limit);
    for (auto& a : op->outputs)
      ndarray_access_begin_write(a, limit);
  }
  tracker_->started(ops.size());
  caf::anon_send(worker_, submit_atom::value, op_batch{std::move(ops)});
}

void graph_store::do_init(const key_list& keys, const array_list& values) {
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys_.count(keys[i]) > 0)
        throw error(errc::duplicate_init, "init: key " + keys[i].to_string() +
                                              " is already initialized");
      for (size_t j = 0; j < i; ++j)
        if (keys[j] == keys[i])
          throw error(errc::duplicate_init,
                      "init: key " + keys[i].to_string() + " appears twice in one call");
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      keys_[keys[i]] = key_meta{values[i].shape(), values[i].dtype()};
      auto op = make_op(op_kind::init, keys[i], 0);
      op->inputs.push_back(densify(values[i]));
      op->done = std::make_shared<completion>();
      ops.push_back(op);
    }
  }
  auto waiting = ops;
  submit(std::move(ops));
  for (auto& op : waiting)
    op->done->wait(wait_limit(), "init of key " + op->key.to_string());
}

void graph_store::do_push(const key_list& keys, const array_lists& values, int priority) {
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i)
      for (auto& v : values[i])
        check_value("push", keys[i], v, "value");
  }
  for_each_group(keys, [&](const key& k, const std::vector<size_t>& members) {
    auto op = make_op(op_kind::push, k, priority);
    for (auto i : members)
      for (auto& v : values[i])
        op->inputs.push_back(densify(v));
    ops.push_back(std::move(op));
  });
  submit(std::move(ops));
}

void graph_store::do_pull(const key_list& keys, const array_lists& outs, int priority,
                          bool ignore_sparse) {
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i)
      for (auto& o : outs[i]) {
        check_value("pull", keys[i], o, "output");
        if (o.storage() == storage::row_sparse && !ignore_sparse)
          throw error(errc::unsupported, "pull: the output for key " + keys[i].to_string() +
                                             " is row_sparse; pulling rows needs row_sparse_pull, "
                                             "which this store does not support yet");
      }
  }
  for_each_group(keys, [&](const key& k, const std::vector<size_t>& members) {
    auto op = make_op(op_kind::pull, k, priority);
    for (auto i : members)
      for (auto& o : outs[i]) {
        if (o.storage() == storage::row_sparse) {
          if (!warned_sparse_) {
            warned_sparse_ = true;
            std::cerr << "kvs: pull skips row_sparse outputs (ignore_sparse = true); "
                         "use row_sparse_pull for them\n";
          }
          continue;
        }
        op->outputs.push_back(o);
      }
    if (!op->outputs.empty())
      ops.push_back(std::move(op));
  });
  submit(std::move(ops));
}

void graph_store::do_pushpull(const key_list& keys, const array_lists& values,
                              const array_lists& outs, int priority) {
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i) {
      for (auto& v : values[i])
        check_value("pushpull", keys[i], v, "value");
      for (auto& o : outs[i]) {
        check_value("pushpull", keys[i], o, "output");
        if (o.storage() == storage::row_sparse)
          throw error(errc::unsupported, "pushpull: the output for key " + keys[i].to_string() +
                                             " is row_sparse, which pushpull cannot fill");
      }
    }
  }
  for_each_group(keys, [&](const key& k, const std::vector<size_t>& members) {
    auto op = make_op(op_kind::pushpull, k, priority);
    for (auto i : members) {
      for (auto& v : values[i])
        op->inputs.push_back(densify(v));
      for (auto& o : outs[i])
        op->outputs.push_back(o);
    }
    ops.push_back(std::move(op));
  });
  submit(std::move(ops));
}

void graph_store::do_set_updater(updater fn) {
  install_updater(spawn_function_updater(*system_, std::move(fn)), true);
}

void graph_store::do_set_updater_actor(updater_actor handle) {
  install_updater(std::move(handle), false);
}

void graph_store::install_updater(updater_actor handle, bool owned) {
  std::optional<error> failure;
  try {
    // Everything issued before the call runs under the updater it was issued under.
    tracker_->wait_all(wait_limit());
    caf::scoped_actor self{*system_};
    self->request(worker_, cfg_.request_timeout, updater_atom::value, handle)
        .receive([](ok_atom) {},
                 [&](caf::error& err) { failure = from_caf_error(err, "set_updater"); });
  } catch (const error& e) {
    failure = e;
  }
  if (failure) {
    if (owned)
      caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    throw *failure;
  }
  // A function updater we spawned stops when replaced; a user's actor is the user's.
  if (owned_updater_)
    caf::anon_send_exit(owned_updater_, caf::exit_reason::user_shutdown);
  owned_updater_ = owned ? std::move(handle) : updater_actor{};
}

void graph_store::do_wait_all() { tracker_->wait_all(wait_limit()); }

}  // namespace kvs::detail
