// graph_store: saving and loading optimizer state (state files).
#include <caf/all.hpp>

#include "core/optimizer_state_layout.hpp"
#include "store/graph_store.hpp"
#include "messages/errors.hpp"
#include "serialization/state_file.hpp"

namespace kvs::detail {

void graph_store::do_save_optimizer_states(const std::string& path, bool dump_optimizer) {
  if (!optimizer_)
    throw error(errc::invalid_argument,
                "save_optimizer_states: no optimizer is set (set_optimizer first); a function "
                "or actor updater keeps its own state");
  tracker_->wait_all(wait_limit());
  state_file file;
  file.keys = ask_worker<std::vector<key_state>>("save_optimizer_states", save_atom::value);
  file.has_optimizer = dump_optimizer;
  if (dump_optimizer)
    file.optimizer_bytes = optimizer_->serialize();
  write_state_file(path, file);
}

void graph_store::check_states(const std::vector<key_state>& states, const optimizer& opt) const {
  std::lock_guard<std::mutex> guard{meta_mtx_};
  for (auto& ks : states) {
    auto& m = meta_of("load_optimizer_states", ks.key);
    if (ks.part != 0)
      throw error(errc::invalid_argument, "load_optimizer_states: the file splits key " +
                                              ks.key.to_string() + " into parts; this store keeps keys whole");
    auto layout = optimizer_state_layout(m.type, m.dims, opt.state_arrays(), opt.multi_precision());
    if (!ks.arrays.empty() && ks.arrays.size() != layout.size())  // empty: never updated yet
      throw error(errc::invalid_argument, "load_optimizer_states: key " + ks.key.to_string() +
                                              " has " + std::to_string(ks.arrays.size()) +
                                              " state arrays; optimizer \"" + opt.name() + "\" keeps " +
                                              std::to_string(layout.size()));
    for (size_t i = 0; i < ks.arrays.size(); ++i) {
      if (ks.arrays[i].shape() != layout[i].shape)
        throw error(errc::shape_mismatch, "load_optimizer_states: key " + ks.key.to_string() +
                                              " has shape " + to_string(m.dims) + " but its state " +
                                              std::to_string(i) + " has shape " +
                                              to_string(ks.arrays[i].shape()));
      auto want_type = layout[i].type;
      if (ks.arrays[i].dtype() != want_type)
        throw error(errc::dtype_mismatch, "load_optimizer_states: state " + std::to_string(i) +
                                              " of key " + ks.key.to_string() + " has dtype " +
                                              to_string(ks.arrays[i].dtype()) + ", expected " +
                                              to_string(want_type));
    }
  }
}

void graph_store::do_load_optimizer_states(const std::string& path) {
  auto file = read_state_file(path);
  std::shared_ptr<optimizer> from_file;
  if (file.has_optimizer)
    from_file = optimizer::deserialize(file.optimizer_bytes);
  std::shared_ptr<const optimizer> opt = from_file ? from_file : optimizer_;
  if (!opt)
    throw error(errc::invalid_argument,
                "load_optimizer_states: \"" + path + "\" holds no optimizer (saved without "
                "dump_optimizer) and none is set: call set_optimizer first");
  check_states(file.keys, *opt);  // nothing changes unless the whole file fits
  if (from_file)
    do_set_optimizer(from_file);
  tracker_->wait_all(wait_limit());
  ask_worker<ok_atom>("load_optimizer_states", load_atom::value, std::move(file.keys),
                      file.has_optimizer);
}

}  // namespace kvs::detail
