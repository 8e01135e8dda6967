#include "store/trainer_checks.hpp"

#include <set>

#include "core/optimizer_state_layout.hpp"

namespace kvs::detail {

namespace {

std::string where(size_t i, size_t k) {
  return "parameter " + std::to_string(i) + " on device " + std::to_string(k);
}

void check_pair(const std::vector<std::vector<ndarray>>& params,
                const std::vector<std::vector<ndarray>>& grads, size_t i, size_t k) {
  auto& p = params[i][k];
  auto& g = grads[i][k];
  auto& first = params[i][0];
  if (p.is_none() || g.is_none())
    throw error(errc::invalid_argument, "trainer: " + where(i, k) + " has an empty " +
                                            (p.is_none() ? "weight" : "gradient"));
  if (p.shape() != first.shape())
    throw error(errc::shape_mismatch, "trainer: " + where(i, k) + " has shape " +
                                          to_string(p.shape()) + ", on device 0 " +
                                          to_string(first.shape()));
  if (p.dtype() != first.dtype())
    throw error(errc::dtype_mismatch, "trainer: " + where(i, k) + " has dtype " +
                                          to_string(p.dtype()) + ", on device 0 " +
                                          to_string(first.dtype()));
  if (g.shape() != p.shape())
    throw error(errc::shape_mismatch, "trainer: the gradient of " + where(i, k) + " has shape " +
                                          to_string(g.shape()) + ", its weight " +
                                          to_string(p.shape()));
  if (g.dtype() != p.dtype())
    throw error(errc::dtype_mismatch, "trainer: the gradient of " + where(i, k) + " has dtype " +
                                          to_string(g.dtype()) + ", its weight " +
                                          to_string(p.dtype()));
  if (g.device() != p.device())
    throw error(errc::invalid_argument, "trainer: the gradient of " + where(i, k) + " is on " +
                                            to_string(g.device()) + ", its weight on " +
                                            to_string(p.device()));
  if (p.device() != params[0][k].device())
    throw error(errc::invalid_argument, "trainer: " + where(i, k) + " is on " +
                                            to_string(p.device()) + ", parameter 0 on " +
                                            to_string(params[0][k].device()) +
                                            " (device k must be the same for every parameter)");
}

}  // namespace

void check_trainer_lists(const std::vector<std::vector<ndarray>>& params,
                         const std::vector<std::vector<ndarray>>& grads, const optimizer* opt,
                         const std::vector<std::string>& names) {
  if (!opt)
    throw error(errc::invalid_argument, "trainer: no optimizer (create_optimizer)");
  if (params.empty())
    throw error(errc::invalid_argument, "trainer: no parameters");
  if (grads.size() != params.size())
    throw error(errc::invalid_argument, "trainer: " + std::to_string(params.size()) +
                                            " parameters but " + std::to_string(grads.size()) +
                                            " gradient lists");
  if (!names.empty() && names.size() != params.size())
    throw error(errc::invalid_argument, "trainer: " + std::to_string(names.size()) +
                                            " names for " + std::to_string(params.size()) +
                                            " parameters");
  std::set<std::string> seen;
  for (auto& n : names)
    if (!seen.insert(n).second)
      throw error(errc::invalid_argument, "trainer: the name \"" + n + "\" is given twice");
  size_t devices = params[0].size();
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].empty() || params[i].size() != devices)
      throw error(errc::invalid_argument, "trainer: parameter " + std::to_string(i) + " is on " +
                                              std::to_string(params[i].size()) +
                                              " devices, parameter 0 on " +
                                              std::to_string(devices));
    if (grads[i].size() != params[i].size())
      throw error(errc::invalid_argument, "trainer: parameter " + std::to_string(i) + " has " +
                                              std::to_string(params[i].size()) + " weights but " +
                                              std::to_string(grads[i].size()) + " gradients");
    for (size_t k = 0; k < devices; ++k)
      check_pair(params, grads, i, k);
  }
}

void check_trainer_policy(const kvstore& store, bool on_store, bool chosen_by_user) {
  if (on_store && !store.is_capable("optimizer"))
    throw error(errc::unsupported, "trainer: update_on_kvstore is set but store \"" +
                                       store.type() + "\" cannot run an optimizer");
  if (!on_store && chosen_by_user && store.type() == "dist_async")
    throw error(errc::unsupported, "trainer: update_on_kvstore = false on \"dist_async\": an "
                                   "asynchronous store applies each push on its own, so the "
                                   "optimizer must run in the store");
}

void check_trainer_states(const std::string& path, const state_file& file, const optimizer& opt,
                          const std::vector<std::vector<ndarray>>& params) {
  auto what = "trainer::load_states: \"" + path + "\"";
  if (!file.has_optimizer)
    throw error(errc::invalid_argument, what + " is not a trainer's file of device states (a "
                                               "store's state file? it holds no optimizer)");
  auto saved = optimizer::deserialize(file.optimizer_bytes);
  if (saved->name() != opt.name())
    throw error(errc::invalid_argument, what + " holds states of optimizer \"" + saved->name() +
                                            "\"; this trainer runs \"" + opt.name() + "\"");
  size_t devices = params[0].size();
  size_t expected = params.size() * devices;
  if (file.keys.size() != expected)
    throw error(errc::invalid_argument, what + " holds " + std::to_string(file.keys.size()) +
                                            " device states; this trainer keeps " +
                                            std::to_string(expected) + " (" +
                                            std::to_string(params.size()) + " parameters on " +
                                            std::to_string(devices) + " devices)");
  for (auto& ks : file.keys) {
    if (!ks.key.is_int() || ks.key.as_int() < 0 ||
        static_cast<size_t>(ks.key.as_int()) >= expected)
      throw error(errc::corrupt_file, what + " has a state for index " + ks.key.to_string());
    auto index = static_cast<size_t>(ks.key.as_int());
    auto& w = params[index / devices][index % devices];
    if (ks.arrays.empty())
      continue;  // never updated yet
    auto layout = optimizer_state_layout(w.dtype(), w.shape(), opt.state_arrays(),
                                         opt.multi_precision());
    if (ks.arrays.size() != layout.size())
      throw error(errc::invalid_argument, what + ": index " + std::to_string(index) + " has " +
                                              std::to_string(ks.arrays.size()) +
                                              " state arrays; expected " +
                                              std::to_string(layout.size()));
    for (size_t a = 0; a < layout.size(); ++a) {
      if (ks.arrays[a].shape() != layout[a].shape)
        throw error(errc::shape_mismatch, what + ": state " + std::to_string(a) + " of " +
                                              where(index / devices, index % devices) +
                                              " has shape " + to_string(ks.arrays[a].shape()) +
                                              ", the weight " + to_string(w.shape()));
      if (ks.arrays[a].dtype() != layout[a].type)
        throw error(errc::dtype_mismatch, what + ": state " + std::to_string(a) + " of " +
                                              where(index / devices, index % devices) +
                                              " has dtype " + to_string(ks.arrays[a].dtype()) +
                                              ", expected " + to_string(layout[a].type));
    }
  }
}

}  // namespace kvs::detail
