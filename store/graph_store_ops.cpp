// graph_store, the caller's side of init, push, pull and pushpull: checks
// the arguments against the keys it knows (a bad call throws at once), groups
// a list call by key, marks the arrays and hands the operations to the worker.
#include <algorithm>
#include <cstring>
#include <iostream>
#include <iterator>
#include <unordered_map>

#include <caf/all.hpp>

#include "core/array_impl.hpp"
#include "core/row_ops.hpp"
#include "store/graph_store.hpp"

namespace kvs::detail {
namespace {

// The positions in a list call of one key's arrays.
struct members_of {
  const size_t* first;
  const size_t* last;
  const size_t* begin() const { return first; }
  const size_t* end() const { return last; }
  size_t size() const { return static_cast<size_t>(last - first); }
};

// Groups a list call by key, in order of first appearance: repeated keys in
// one call are one operation over all their arrays. One pass with a hash
// map (a call of 1000 keys compared every pair before: 0.5M comparisons on
// the caller's thread), and the groups laid out in one array (a vector per
// key was two allocations per key of a call).
template <class Fn>
void for_each_group(const kvstore::key_list& keys, Fn fn) {
  std::vector<size_t> group(keys.size());  // each position's group
  std::vector<size_t> firsts;              // each group's first position
  firsts.reserve(keys.size());
  std::unordered_map<key, size_t, key_hash> group_of;
  group_of.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [at, fresh] = group_of.emplace(keys[i], firsts.size());
    if (fresh)
      firsts.push_back(i);
    group[i] = at->second;
  }
  // Counting sort of the positions by group; each keeps its call order.
  std::vector<size_t> start(firsts.size() + 1, 0);
  for (auto g : group)
    ++start[g + 1];
  for (size_t g = 0; g < firsts.size(); ++g)
    start[g + 1] += start[g];
  std::vector<size_t> members(keys.size());
  auto fill = start;
  for (size_t i = 0; i < keys.size(); ++i)
    members[fill[group[i]]++] = i;
  for (size_t g = 0; g < firsts.size(); ++g)
    fn(keys[firsts[g]], members_of{members.data() + start[g], members.data() + start[g + 1]});
}

// The arrays of a group's members (the list itself for one member: no copy).
template <class Lists>
const std::vector<ndarray>& arrays_of(const Lists& lists, members_of m,
                                      std::vector<ndarray>& joined) {
  if (m.size() == 1)
    return lists[*m.begin()];
  for (auto i : m)
    joined.insert(joined.end(), lists[i].begin(), lists[i].end());
  return joined;
}

// A push whose arrays are all row_sparse travels as rows (the worker's
// stage "rows" sums them; an optimizer with lazy_update touches only those
// rows). One dense array among them makes the sum dense: all go dense.
void add_inputs(operation& op, const std::vector<ndarray>& values) {
  op.sparse = !values.empty() && std::all_of(values.begin(), values.end(), [](const ndarray& v) {
    return v.storage() == storage::row_sparse;
  });
  for (auto& v : values)
    op.inputs.push_back(op.sparse ? v : densify(v));
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
  // (the role compared as a C string: a std::string for each array of a
  // call was 3% of a worker's samples in a call of 1000 keys, perf)
  bool converts = std::strcmp(role, "output") == 0 && is_float(v.dtype()) && is_float(m.type);
  if (v.dtype() != m.type && !converts)
    throw error(errc::dtype_mismatch, std::string(op) + ": key " + k.to_string() + " has dtype " +
                                          to_string(m.type) + " but the " + role + " has dtype " +
                                          to_string(v.dtype()));
  if (std::strcmp(role, "value") == 0)
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
  if (kind != op_kind::init) {  // init is made under the lock, and sets it
    std::lock_guard<std::mutex> guard{meta_mtx_};
    op->row_split = keys_.at(k).row_split;
  }
  return op;
}

std::shared_ptr<operation> graph_store::make_rows_op(const key& k, const std::vector<ndarray>& outs,
                                                     const ndarray& row_ids, int priority) {
  auto op = make_op(op_kind::pull, k, priority);
  op->select_rows = true;
  op->row_ids = row_ids;
  if (!row_ids.is_none())
    op->inputs.push_back(row_ids);  // read by the operation: ordered after its writers
  op->outputs = outs;
  op->landing = outs;  // the stage "rows" gives each output its rows buffer
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
    for (auto& a : op->inputs) {
      ndarray_access_begin_read(a, limit);
      if (auto r = rows_to_mark(a); !r.is_none()) {
        ndarray_access_begin_read(r, limit);
        op->read_rows.push_back(std::move(r));
      }
    }
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
    for (auto& k : keys)  // init is a key's first use: stats() lists it in call order
      telemetry_->first_use(k);
    // Largest keys are placed first (MXNet's CommDevice order).
    std::vector<size_t> order(keys.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return values[a].size() > values[b].size(); });
    for (size_t i : order) {
      uint64_t row_split =
          values[i].storage() == storage::row_sparse ? row_length(values[i].shape()) : 0;
      keys_[keys[i]] = key_meta{values[i].shape(), values[i].dtype(), row_split};
      if (!send)
        continue;
      auto op = make_op(op_kind::init, keys[i], 0);
      op->row_split = row_split;
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
  for_each_group(keys, [&](const key& k, members_of members) {
    auto op = make_op(op_kind::push, k, priority);
    std::vector<ndarray> joined;
    add_inputs(*op, arrays_of(values, members, joined));
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
      for (auto& o : outs[i])
        check_value(o.storage() == storage::row_sparse ? "row_sparse pull" : "pull", keys[i], o,
                    o.storage() == storage::row_sparse ? "row_sparse output" : "output");
  }
  for_each_group(keys, [&](const key& k, members_of members) {
    auto op = make_op(op_kind::pull, k, priority);
    std::vector<ndarray> sparse_outs;
    for (auto i : members)
      for (auto& o : outs[i]) {
        if (o.storage() == storage::dense)
          add_output(*op, o);
        else if (!ignore_sparse)  // MXNet: every row of the key
          sparse_outs.push_back(o);
        else if (!warned_sparse_) {
          warned_sparse_ = true;
          std::cerr << "kvs: pull skips row_sparse outputs (ignore_sparse = true); "
                       "use row_sparse_pull for them\n";
        }
      }
    if (!op->outputs.empty())
      ops.push_back(std::move(op));
    if (!sparse_outs.empty())
      ops.push_back(make_rows_op(k, sparse_outs, ndarray(), priority));
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
  for_each_group(keys, [&](const key& k, members_of members) {
    auto op = make_op(op_kind::pushpull, k, priority);
    for (auto i : members)
      for (auto& o : outs[i])
        add_output(*op, o);
    std::vector<ndarray> joined;
    add_inputs(*op, arrays_of(values, members, joined));
    ops.push_back(std::move(op));
  });
  snapshot_shared_inputs(ops);
  submit(std::move(ops));
}

void graph_store::do_row_sparse_pull(const key_list& keys, const array_lists& outs,
                                     const array_lists& row_ids, int priority) {
  std::vector<std::shared_ptr<operation>> ops;
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    for (size_t i = 0; i < keys.size(); ++i)
      for (size_t j = 0; j < outs[i].size(); ++j) {
        auto& o = outs[i][j];
        auto what = "row_sparse_pull: key " + keys[i].to_string();
        if (o.storage() != storage::row_sparse)
          throw error(errc::invalid_argument,
                      what + ": output " + std::to_string(j) +
                          " is dense; row_sparse_pull fills row_sparse outputs (use pull for "
                          "dense ones)");
        check_value("row_sparse_pull", keys[i], o, "row_sparse output");
        auto& ids = row_ids[i][j];
        if (ids.is_none())
          throw error(errc::invalid_argument, what + ": row id array " + std::to_string(j) +
                                                  " is a none ndarray");
        auto t = ids.dtype();
        if (t != dtype::i32 && t != dtype::i64 && t != dtype::u8)
          throw error(errc::dtype_mismatch, what + ": row ids must be integers (int32, int64 or "
                                                   "uint8), but row id array " +
                                                   std::to_string(j) + " has dtype " +
                                                   to_string(t));
      }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    // Outputs that share one id array are one operation.
    std::vector<bool> done(outs[i].size(), false);
    for (size_t j = 0; j < outs[i].size(); ++j) {
      if (done[j])
        continue;
      std::vector<ndarray> same;
      for (size_t m = j; m < outs[i].size(); ++m)
        if (!done[m] && row_ids[i][m].same_storage(row_ids[i][j])) {
          done[m] = true;
          same.push_back(outs[i][m]);
        }
      ops.push_back(make_rows_op(keys[i], same, row_ids[i][j], priority));
    }
  }
  submit(std::move(ops));
}


}  // namespace kvs::detail
