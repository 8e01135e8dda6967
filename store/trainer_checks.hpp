#pragma once
// What kvs::trainer checks before it touches the store: its lists, its
// policy, and a state file of the local policy. Each throws kvs::error
// naming the parameter, the device and the values involved.
#include <string>
#include <vector>

#include "kvs/kvstore.hpp"
#include "serialization/state_file.hpp"

namespace kvs::detail {

void check_trainer_lists(const std::vector<std::vector<ndarray>>& params,
                         const std::vector<std::vector<ndarray>>& grads, const optimizer* opt,
                         const std::vector<std::string>& names);
void check_trainer_policy(const kvstore& store, bool on_store, bool chosen_by_user);
// The file of a local-policy trainer with these parameters and optimizer.
void check_trainer_states(const std::string& path, const state_file& file, const optimizer& opt,
                          const std::vector<std::vector<ndarray>>& params);

}  // namespace kvs::detail
