#pragma once
// Optimizers applied by the store to summed gradients (set_optimizer).
#include <map>
#include <memory>
#include <string>

namespace kvs {

class optimizer;  // a serializable configuration; defined with the optimizers

// name: "sgd", "nag", "adam", "adagrad", "rmsprop", "signum", "ftrl",
// "lamb", "test". Throws kvs::error listing what is accepted.
std::shared_ptr<optimizer> create_optimizer(
    const std::string& name, const std::map<std::string, double>& numbers = {},
    const std::map<std::string, std::string>& options = {});

}  // namespace kvs
