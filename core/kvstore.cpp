// kvstore's public overloads: check counts, none arrays and key kinds, bring
// every form to the list form, and call the hook.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "kvs/kvstore.hpp"

namespace kvs {

namespace {

std::string count_text(size_t n, const char* what) {
  return std::to_string(n) + " " + what;
}

void check_counts(const char* op, size_t keys, size_t values, const char* what) {
  if (keys != values)
    throw error(errc::invalid_argument, std::string(op) + ": " + count_text(keys, "key(s)") +
                                            " but " + count_text(values, what));
}

void check_arrays(const char* op, const key& k, const std::vector<ndarray>& arrays,
                  const char* what) {
  if (arrays.empty())
    throw error(errc::invalid_argument,
                std::string(op) + ": key " + k.to_string() + " has an empty list of " + what);
  for (size_t i = 0; i < arrays.size(); ++i)
    if (arrays[i].is_none())
      throw error(errc::invalid_argument, std::string(op) + ": " + what + " " + std::to_string(i) +
                                              " of key " + k.to_string() + " is none");
}

void check_lists(const char* op, const kvstore::key_list& keys, const kvstore::array_lists& lists,
                 const char* what) {
  check_counts(op, keys.size(), lists.size(), what);
  for (size_t i = 0; i < keys.size(); ++i)
    check_arrays(op, keys[i], lists[i], what);
}

kvstore::array_lists singletons(const kvstore::array_list& arrays) {
  kvstore::array_lists out;
  out.reserve(arrays.size());
  for (auto& a : arrays)
    out.push_back({a});
  return out;
}

}  // namespace

struct kvstore::owned_system {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
};

kvstore::kvstore() = default;
kvstore::~kvstore() = default;

void kvstore::check_key_kind(const key_list& keys) {
  if (keys.empty())
    return;
  bool first_int = keys.front().is_int();
  for (auto& k : keys)
    if (k.is_int() != first_int)
      throw error(errc::mixed_key_types, "keys " + keys.front().to_string() + " and " +
                                             k.to_string() +
                                             " mix integer and string keys in one call");
  std::lock_guard<std::mutex> guard{kind_mtx_};
  if (!int_keys_)
    int_keys_ = first_int;
  else if (*int_keys_ != first_int)
    throw error(errc::mixed_key_types,
                "key " + keys.front().to_string() + " is " + (first_int ? "an integer" : "a string") +
                    " but this store uses " + (*int_keys_ ? "integer" : "string") + " keys");
}

void kvstore::init(const key& k, const ndarray& v) { init(key_list{k}, array_list{v}); }
void kvstore::init(const key_list& keys, const array_list& values) {
  check_counts("init", keys.size(), values.size(), "value(s)");
  for (size_t i = 0; i < keys.size(); ++i)
    check_arrays("init", keys[i], {values[i]}, "value");
  check_key_kind(keys);
  do_init(keys, values);
}

void kvstore::push(const key& k, const ndarray& v, int priority) {
  push(key_list{k}, array_lists{{v}}, priority);
}
void kvstore::push(const key& k, const array_list& per_device, int priority) {
  push(key_list{k}, array_lists{per_device}, priority);
}
void kvstore::push(const key_list& keys, const array_list& values, int priority) {
  check_counts("push", keys.size(), values.size(), "value(s)");
  push(keys, singletons(values), priority);
}
void kvstore::push(const key_list& keys, const array_lists& values, int priority) {
  check_lists("push", keys, values, "value");
  check_key_kind(keys);
  do_push(keys, values, priority);
}

void kvstore::pull(const key& k, const ndarray& out, int priority, bool ignore_sparse) {
  pull(key_list{k}, array_lists{{out}}, priority, ignore_sparse);
}
void kvstore::pull(const key& k, const array_list& outs, int priority, bool ignore_sparse) {
  pull(key_list{k}, array_lists{outs}, priority, ignore_sparse);
}
void kvstore::pull(const key_list& keys, const array_list& outs, int priority, bool ignore_sparse) {
  check_counts("pull", keys.size(), outs.size(), "output(s)");
  pull(keys, singletons(outs), priority, ignore_sparse);
}
void kvstore::pull(const key_list& keys, const array_lists& outs, int priority, bool ignore_sparse) {
  check_lists("pull", keys, outs, "output");
  check_key_kind(keys);
  do_pull(keys, outs, priority, ignore_sparse);
}

void kvstore::pushpull(const key& k, const ndarray& value, const ndarray& out, int priority) {
  pushpull(key_list{k}, array_lists{{value}}, array_lists{{out}}, priority);
}
void kvstore::pushpull(const key& k, const array_list& values, const array_list& outs,
                       int priority) {
  pushpull(key_list{k}, array_lists{values}, array_lists{outs}, priority);
}
void kvstore::pushpull(const key& k, const ndarray& value_in_place, int priority) {
  pushpull(key_list{k}, array_lists{{value_in_place}}, priority);
}
void kvstore::pushpull(const key& k, const array_list& values_in_place, int priority) {
  pushpull(key_list{k}, array_lists{values_in_place}, priority);
}
void kvstore::pushpull(const key_list& keys, const array_list& values, const array_list& outs,
                       int priority) {
  check_counts("pushpull", keys.size(), values.size(), "value(s)");
  check_counts("pushpull", keys.size(), outs.size(), "output(s)");
  pushpull(keys, singletons(values), singletons(outs), priority);
}
void kvstore::pushpull(const key_list& keys, const array_lists& values, const array_lists& outs,
                       int priority) {
  check_lists("pushpull", keys, values, "value");
  check_lists("pushpull", keys, outs, "output");
  check_key_kind(keys);
  do_pushpull(keys, values, outs, priority);
}
void kvstore::pushpull(const key_list& keys, const array_list& values_in_place, int priority) {
  check_counts("pushpull", keys.size(), values_in_place.size(), "value(s)");
  pushpull(keys, singletons(values_in_place), priority);
}
void kvstore::pushpull(const key_list& keys, const array_lists& values_in_place, int priority) {
  pushpull(keys, values_in_place, values_in_place, priority);
}

void kvstore::broadcast(const key& k, const ndarray& value, const ndarray& out, int priority) {
  broadcast(key_list{k}, array_list{value}, array_lists{{out}}, priority);
}
void kvstore::broadcast(const key& k, const ndarray& value, const array_list& outs, int priority) {
  broadcast(key_list{k}, array_list{value}, array_lists{outs}, priority);
}
void kvstore::broadcast(const key_list& keys, const array_list& values, const array_list& outs,
                        int priority) {
  check_counts("broadcast", keys.size(), outs.size(), "output(s)");
  broadcast(keys, values, singletons(outs), priority);
}
void kvstore::broadcast(const key_list& keys, const array_list& values, const array_lists& outs,
                        int priority) {
  check_counts("broadcast", keys.size(), values.size(), "value(s)");
  for (size_t i = 0; i < keys.size(); ++i)
    check_arrays("broadcast", keys[i], {values[i]}, "value");
  check_lists("broadcast", keys, outs, "output");
  check_key_kind(keys);
  do_broadcast(keys, values, outs, priority);
}

void kvstore::row_sparse_pull(const key& k, const ndarray& out, const ndarray& row_ids,
                              int priority) {
  row_sparse_pull(k, array_list{out}, array_list{row_ids}, priority);
}
void kvstore::row_sparse_pull(const key& k, const array_list& outs, const array_list& row_ids,
                              int priority) {
  check_arrays("row_sparse_pull", k, outs, "output");
  check_counts("row_sparse_pull", outs.size(), row_ids.size(), "row id array(s)");
  check_key_kind({k});
  do_row_sparse_pull({k}, {outs}, {row_ids}, priority);
}

void kvstore::set_optimizer(std::shared_ptr<optimizer> opt) {
  if (!opt)
    throw error(errc::invalid_argument, "set_optimizer: the optimizer is null");
  do_set_optimizer(std::move(opt));
}
void kvstore::set_updater(updater fn) {
  if (!fn)
    throw error(errc::invalid_argument, "set_updater: the updater function is empty");
  do_set_updater(std::move(fn));
}
void kvstore::set_updater(updater_actor handle) {
  if (!handle)
    throw error(errc::invalid_argument, "set_updater: the updater actor handle is invalid");
  do_set_updater_actor(std::move(handle));
}
void kvstore::set_gradient_compression(const compression& c) { do_set_gradient_compression(c); }
void kvstore::save_optimizer_states(const std::string& path, bool dump) {
  do_save_optimizer_states(path, dump);
}
void kvstore::load_optimizer_states(const std::string& path) { do_load_optimizer_states(path); }
void kvstore::barrier() { do_barrier(); }
void kvstore::send_command_to_servers(int head, const std::string& body) {
  do_send_command_to_servers(head, body);
}
void kvstore::wait_all() { do_wait_all(); }
std::string kvstore::type() const { return do_type(); }
int kvstore::rank() const { return do_rank(); }
int kvstore::num_workers() const { return do_num_workers(); }
int kvstore::local_rank() const { return do_local_rank(); }
caf::actor_system& kvstore::system() { return do_system(); }

bool kvstore::is_capable(const std::string& capability) const {
  auto& known = known_capabilities();
  if (std::find(known.begin(), known.end(), capability) == known.end()) {
    std::string list;
    for (auto& c : known)
      list += (list.empty() ? "" : ", ") + c;
    throw error(errc::invalid_argument,
                "unknown capability \"" + capability + "\"; known capabilities: " + list);
  }
  return do_is_capable(capability);
}

const std::vector<std::string>& kvstore::known_capabilities() {
  static const std::vector<std::string> names{"optimizer", "gradient_compression",
                                              "row_sparse_pull"};
  return names;
}

// ---- default hooks ------------------------------------------------------

void kvstore::do_broadcast(const key_list& keys, const array_list& values, const array_lists& outs,
                           int priority) {
  do_init(keys, values);
  do_pull(keys, outs, priority, true);
}

namespace {
[[noreturn]] void not_here(const std::string& type, const std::string& what) {
  throw error(errc::unsupported, "the \"" + type + "\" store does not support " + what);
}
}  // namespace

void kvstore::do_row_sparse_pull(const key_list&, const array_lists&, const array_lists&, int) {
  not_here(type(), "row_sparse_pull");
}
void kvstore::do_set_optimizer(std::shared_ptr<optimizer>) { not_here(type(), "set_optimizer"); }
void kvstore::do_set_updater(updater) { not_here(type(), "set_updater"); }
void kvstore::do_set_updater_actor(updater_actor) { not_here(type(), "set_updater"); }
void kvstore::do_set_gradient_compression(const compression&) {
  not_here(type(), "set_gradient_compression");
}
void kvstore::do_save_optimizer_states(const std::string&, bool) {
  not_here(type(), "save_optimizer_states");
}
void kvstore::do_load_optimizer_states(const std::string&) {
  not_here(type(), "load_optimizer_states");
}
void kvstore::do_barrier() {}
void kvstore::do_send_command_to_servers(int, const std::string&) {
  not_here(type(), "send_command_to_servers (it has no servers)");
}
int kvstore::do_rank() const { return 0; }
int kvstore::do_num_workers() const { return 1; }
int kvstore::do_local_rank() const { return 0; }
bool kvstore::do_is_capable(const std::string&) const { return false; }
store_stats kvstore::stats() const { return do_stats(); }
store_stats kvstore::do_stats() const { return {}; }

caf::actor_system& kvstore::do_system() {
  std::lock_guard<std::mutex> guard{kind_mtx_};
  if (!own_system_)
    own_system_ = std::make_unique<owned_system>();
  return own_system_->sys;
}

}  // namespace kvs
