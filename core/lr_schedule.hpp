#pragma once
// MXNet's learning-rate schedulers (python/mxnet/lr_scheduler.py) as pure
// functions of the update count: MXNet's objects change state as the count
// grows, which for the increasing counts of training gives the same
// value as recomputing from scratch, so resuming needs only the count.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kvs::detail {

struct lr_schedule {
  std::string kind;  // "", "factor", "multifactor", "poly", "cosine"
  double base_lr = 0.01;
  double step = 0;                // factor
  std::vector<int64_t> steps;     // multifactor
  double factor = 1, stop_factor_lr = 1e-8;
  double max_update = 0, pwr = 2, final_lr = 0;
  double warmup_steps = 0, warmup_begin_lr = 0;
  std::string warmup_mode = "linear";

  // Reads the scheduler settings; throws invalid_argument naming a bad one.
  static lr_schedule from(const std::map<std::string, double>& numbers,
                          const std::map<std::string, std::string>& options);
  double at(uint64_t num_update) const;
};

}  // namespace kvs::detail
