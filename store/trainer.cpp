// kvs::trainer: MXNet Module's use of a store (python/mxnet/model.py), the
// policy in one place; the store does every sum, the optimizer every update.
#include "kvs/trainer.hpp"

#include <algorithm>

#include "core/optimizer_state_layout.hpp"
#include "serialization/state_file.hpp"
#include "store/trainer_checks.hpp"

namespace kvs {

namespace {

// MXNet's _create_kvstore, for the store type Module was given as a string:
// no store for one device outside dist mode (so no update in it), a local
// update when a "local" store would hold a parameter over 16M elements.
bool default_policy(const kvstore& store, const std::vector<std::vector<ndarray>>& params) {
  bool dist = store.type().rfind("dist", 0) == 0;
  if (!dist && params[0].size() == 1)
    return false;
  if (store.type() == "local") {
    size_t biggest = 0;
    for (auto& p : params)
      biggest = std::max(biggest, p[0].size());
    if (biggest > size_t{1024} * 1024 * 16)
      return false;
  }
  return store.is_capable("optimizer");
}

bool is_dense(const std::vector<ndarray>& arrays) {
  for (auto& a : arrays)
    if (a.storage() != storage::dense)
      return false;
  return true;
}

}  // namespace

struct trainer::impl {
  kvstore& store;
  std::vector<std::vector<ndarray>> params, grads;
  std::shared_ptr<optimizer> opt;
  std::vector<key> keys;
  bool on_store = true;
  // Local policy: each device's own state and update count per parameter,
  // indexed i * devices + k as MXNet's updater indexes them.
  std::vector<std::vector<ndarray>> states;
  std::vector<uint64_t> counts;

  size_t devices() const { return params[0].size(); }

  // _update_params_on_kvstore / the sum half of _update_params: dense
  // arrays go in one pushpull, others as a push and a pull.
  void sum_and_pull(size_t i, const std::vector<ndarray>& outs) {
    int priority = -static_cast<int>(i);
    if (is_dense(grads[i]) && is_dense(params[i])) {
      store.pushpull(keys[i], grads[i], outs, priority);
    } else {
      store.push(keys[i], grads[i], priority);
      store.pull(keys[i], outs, priority);
    }
  }

  // The other half of _update_params: every device updates its own copy.
  void update_locally() {
    size_t d = devices();
    for (size_t k = 0; k < d; ++k)
      for (size_t i = 0; i < params.size(); ++i) {
        size_t index = i * d + k;
        auto& w = params[i][k];
        grads[i][k].wait_to_read();
        if (states[index].empty() && opt->state_arrays() + (opt->multi_precision() ? 1 : 0) > 0) {
          auto host = w.device().kind == device::cpu_kind ? w : w.copy_to(cpu());
          auto layout = detail::optimizer_state_layout(w.dtype(), w.shape(), opt->state_arrays(),
                                                       opt->multi_precision());
          states[index] = detail::initial_optimizer_state(host, layout);
        }
        opt->update(grads[i][k], w, states[index], ++counts[index]);
      }
  }
};

trainer::trainer(kvstore& store, std::vector<std::vector<ndarray>> params,
                 std::vector<std::vector<ndarray>> grads, std::shared_ptr<optimizer> opt,
                 trainer_options options)
    : impl_(std::make_unique<impl>(impl{store, std::move(params), std::move(grads), std::move(opt),
                                        {}, true, {}, {}})) {
  auto& m = *impl_;
  detail::check_trainer_lists(m.params, m.grads, m.opt.get(), options.names);
  for (size_t i = 0; i < m.params.size(); ++i)
    m.keys.push_back(options.names.empty() ? key(static_cast<int64_t>(i)) : key(options.names[i]));
  m.on_store = options.update_on_kvstore.value_or(default_policy(store, m.params));
  detail::check_trainer_policy(store, m.on_store, options.update_on_kvstore.has_value());
  // Module sets the optimizer first, then initializes (_initialize_kvstore).
  if (m.on_store)
    store.set_optimizer(m.opt);
  std::vector<ndarray> first;
  for (auto& p : m.params)
    first.push_back(p[0]);
  store.init(m.keys, first);
  // Every device starts from the store's value (rank 0's in dist mode).
  for (size_t i = 0; i < m.params.size(); ++i)
    store.pull(m.keys[i], m.params[i], -static_cast<int>(i));
  if (!m.on_store) {
    m.states.resize(m.params.size() * m.devices());
    m.counts.assign(m.params.size() * m.devices(), 0);
  }
}

trainer::~trainer() = default;

void trainer::step() {
  auto& m = *impl_;
  for (size_t i = 0; i < m.params.size(); ++i)
    m.sum_and_pull(i, m.on_store ? m.params[i] : m.grads[i]);
  if (!m.on_store)
    m.update_locally();
}

bool trainer::update_on_kvstore() const { return impl_->on_store; }

void trainer::save_states(const std::string& path) const {
  auto& m = *impl_;
  if (m.on_store) {
    // With the optimizer in the file, a load restores the update counts too
    // (schedulers and adam's bias correction go on exactly).
    m.store.save_optimizer_states(path, true);
    return;
  }
  detail::state_file file;
  file.has_optimizer = true;
  file.optimizer_bytes = m.opt->serialize();
  for (size_t index = 0; index < m.states.size(); ++index) {
    key_state ks;
    ks.key = key(static_cast<int64_t>(index));
    ks.count = m.counts[index];
    for (auto& a : m.states[index])
      ks.arrays.push_back(a.copy_to(cpu()));
    file.keys.push_back(std::move(ks));
  }
  detail::write_state_file(path, file);
}

void trainer::load_states(const std::string& path) {
  auto& m = *impl_;
  if (m.on_store) {
    // A file with its optimizer: in dist mode a collective (every worker
    // calls it, rank 0 hands the states to the servers, all return once the
    // servers have them).
    m.store.load_optimizer_states(path);
    return;
  }
  auto file = detail::read_state_file(path);
  detail::check_trainer_states(path, file, *m.opt, m.params);
  for (auto& ks : file.keys) {
    auto index = static_cast<size_t>(ks.key.as_int());
    m.counts[index] = ks.count;
    m.states[index] = std::move(ks.arrays);
  }
}

}  // namespace kvs
