// graph_store, the caller's side of init, push, pull and pushpull: checks
// the arguments against the keys it knows (a bad call throws at once), groups
// a list call by key, marks the arrays and hands the operations to the worker.
#include <algorithm>
#include <iostream>
#include <iterator>
#include <unordered_map>

#include <caf/all.hpp>

#include "core/array_impl.hpp"
#include "store/graph_store.hpp"

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

// When every array is row_sparse: the union of their rows (an optimizer
// with lazy_update touches only those). Otherwise nullopt.
std::optional<std::vector<int64_t>> sparse_rows(const std::vector<ndarray>& arrays) {
  std::vector<int64_t> rows;
  for (auto& a : arrays) {
    if (a.storage() != storage::row_sparse)
      return std::nullopt;
    auto ids = a.row_ids();
    std::vector<int64_t> merged;
    std::set_union(rows.begin(), rows.end(), ids.begin(), ids.end(), std::back_inserter(merged));
    rows = std::move(merged);
  }
  return rows;
}

void add_inputs(operation& op, const std::vector<ndarray>& values) {
  auto rows = sparse_rows(values);
  op.sparse = rows.has_value();
  if (rows)
    op.rows = std::move(*rows);
  for (auto& v : values)
    op.inputs.push_back(densify(v));
}

// A list call takes every push before any pull writes (MXNet's rule): an
// input that is also another key's output in the same call (in-place
// pushpull of arrays shared by keys) is pushed from a copy taken now.
void snapshot_shared_inputs(std::vector<std::shared_ptr<operation>>& ops) {
  // Which operation writes each storage (nullptr: more than one does).
  std::unordered_map<const void*, const operation*> writer;
  for (auto& op : ops)
    for (auto& out : op->outputs) {
      auto [i, fresh] = writer.emplace(storage_id(out), op.get());
      if (!fresh && i->second != op.get())
        i->second = nullptr;
    }
  for (auto& op : ops)
    for (auto& in : op->inputs) {
      auto i = writer.find(storage_id(in));
      if (i != writer.end() && i->second != op.get())
        in = in.copy_to(in.device());
    }
}

}  // namespace

const graph_store::key_meta& graph_store::meta_of(const char* op, const key& k) const {
  auto i = keys_.find(k);
  if (i == keys_.end())
    throw error(errc::key_not_initialized,
                std::string(op) + ": key " + k.to_string() + " is not initialized");
  return i->second;
}

namespace {
bool is_float(dtype t) {
  return t == dtype::f16 || t == dtype::bf16 || t == dtype::f32 || t == dtype::f64;
}
}  // namespace

void graph_store::check_value(const char* op, const key& k, const ndarray& v,
                              const char* role) const {
  auto& m = meta_of(op, k);
  if (v.shape() != m.dims)
    throw error(errc::shape_mismatch, std::string(op) + ": key " + k.to_string() + " has shape " +
                                          to_string(m.dims) + " but the " + role + " has shape " +
                                          to_string(v.shape()));
  // Outputs of another floating dtype receive the value converted (MXNet's
  // copies convert: fp16 keys pulled into float32 outputs).
  bool converts = std::string(role) == "output" && is_float(v.dtype()) && is_float(m.type);
  if (v.dtype() != m.type && !converts)
    throw error(errc::dtype_mismatch, std::string(op) + ": key " + k.to_string() + " has dtype " +
                                          to_string(m.type) + " but the " + role + " has dtype " +
                                          to_string(v.dtype()));  if (std::string(role) == "value")
    check_compressible(op, k, v);
}

void graph_store::add_output(operation& op, const ndarray& out) const {
  op.outputs.push_back(out);
  dtype type;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    type = keys_.at(op.key).type;
  }
  op.landing.push_back(out.dtype() == type ? out
                                           : make_uninitialized(out.shape(), type, out.device()));
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
  if (cluster_)  // no data operation outlives the job
    cluster_->check_scheduler(std::string(to_string(ops.front()->kind)) + " of key " +
                              ops.front()->key.to_string());
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
  // Distributed: only rank 0's values are stored; every worker then waits
  // until they are (MXNet's init is followed by a barrier).
  bool send = !distributed() || cluster_->info().rank == 0;
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
    // Largest keys are placed first (MXNet's CommDevice order).
    std::vector<size_t> order(keys.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return values[a].size() > values[b].size(); });
    for (size_t i : order) {
      keys_[keys[i]] = key_meta{values[i].shape(), values[i].dtype()};
      if (!send)
        continue;
      auto op = make_op(op_kind::init, keys[i], 0);
      op->target = place(values[i]);
      op->inputs.push_back(densify(values[i]));
      op->done = std::make_shared<completion>();
      ops.push_back(op);
    }
  }
  auto waiting = ops;
  submit(std::move(ops));
  for (auto& op : waiting)
    op->done->wait(wait_limit(), "init of key " + op->key.to_string());
  if (distributed())
    cluster_->barrier();
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
    std::vector<ndarray> all;
    for (auto i : members)
      all.insert(all.end(), values[i].begin(), values[i].end());
    add_inputs(*op, all);
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
        add_output(*op, o);
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
    std::vector<ndarray> all;
    for (auto i : members) {
      all.insert(all.end(), values[i].begin(), values[i].end());
      for (auto& o : outs[i])
        add_output(*op, o);
    }
    add_inputs(*op, all);
    ops.push_back(std::move(op));
  });
  snapshot_shared_inputs(ops);
  submit(std::move(ops));
}


}  // namespace kvs::detail
