#pragma once
// Training with a store: MXNet Module's policy (model.py: _create_kvstore,
// _initialize_kvstore, _update_params_on_kvstore, _update_params) as one
// class. params[i] holds parameter i once per device; grads[i] its gradients
// on the same devices. Parameter i's key is i, or names[i] when names are
// given. docs/training.md describes the policy.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvs/kvstore.hpp"
#include "kvs/ndarray.hpp"
#include "kvs/optimizer.hpp"

namespace kvs {

struct trainer_options {
  std::vector<std::string> names;  // string keys instead of 0..n-1
  // Module's update_on_kvstore. Unset: as MXNet decides it for a store
  // handed to Module (true when the store can run an optimizer), except
  // where MXNet would not use the store at all (one device, not
  // distributed) or would keep the update local (a "local" store with a
  // parameter over 16M elements): false. true: the optimizer runs in the
  // store; false: the store sums the gradients and every device updates its
  // own copy of the weights.
  std::optional<bool> update_on_kvstore;
};

class trainer {
public:
  // Initializes every key from params (device 0's copy; in dist mode rank
  // 0's values win, as init does), sets the optimizer where the policy runs
  // it in the store, and pulls the initial values into every device's copy.
  // Mismatched lists (counts, devices, shapes, dtypes) throw kvs::error
  // naming the parameter and the device.
  trainer(kvstore& store, std::vector<std::vector<ndarray>> params,
          std::vector<std::vector<ndarray>> grads, std::shared_ptr<optimizer> opt,
          trainer_options = {});
  ~trainer();
  trainer(const trainer&) = delete;
  trainer& operator=(const trainer&) = delete;

  // One step: pushes every parameter's gradients with priority -i and pulls
  // the updated weights into every device (returns at once; reading a
  // weight waits for its step), or pulls the summed gradients into grads and
  // updates each device's weights with the optimizer (returns once updated).
  void step();
  bool update_on_kvstore() const;
  // Optimizer states (in the store's state file, or the devices' own states
  // and update counts), resuming bit-exactly with the same parameters.
  void save_states(const std::string& path) const;
  void load_states(const std::string& path);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kvs
