#pragma once
// Optimizers the store applies to summed gradients (set_optimizer). An
// optimizer is a configuration: a name, its numbers and options, all
// serializable. The formulas are MXNet's (docs/optimizers.md).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kvs/ndarray.hpp"

namespace kvs {

namespace detail {
struct lr_schedule;
}

class optimizer {
public:
  // Use create_optimizer(), which checks every setting; this constructor
  // only builds the learning-rate schedule (throwing on a bad one).
  optimizer(std::string name, std::map<std::string, double> numbers,
            std::map<std::string, std::string> options);

  const std::string& name() const { return name_; }
  // Every number after defaults, as MXNet names them.
  const std::map<std::string, double>& numbers() const { return numbers_; }
  const std::map<std::string, std::string>& options() const { return options_; }
  double number(const std::string& name) const;  // throws invalid_argument if unknown

  // The learning rate of a key's `t`-th update (t counts from 1; scheduler
  // and warm-up applied). MXNet feeds its scheduler the largest count of any
  // key; the store feeds each key's own count, which is the same whenever
  // every key is updated every step, and does not depend on the order in
  // which concurrent shards reach the updater (so resumed runs are exact).
  double learning_rate(uint64_t t) const;
  // State arrays kept per key (zeros of the weight's shape), not counting
  // the fp32 master copy of multi-precision.
  uint32_t state_arrays() const;
  bool multi_precision() const;

  // One update in place. `t`: this key's update count (1 at its first).
  // `state`: state_arrays() arrays, then the master copy when the weight is
  // 16-bit and multi_precision is set. `rows`: for a row_sparse gradient
  // with lazy_update, the rows to update (nullptr: all). `grad` may itself
  // be row_sparse: its rows are then the rows (and the others are zero).
  void update(const ndarray& grad, ndarray& weight, std::vector<ndarray>& state, uint64_t t,
              const std::vector<int64_t>* rows = nullptr) const;
  // The same update of a row_sparse `grad`, and then its rows of the
  // weight (as updated) written into `rows_out`, dense, from element
  // `first` on, one row after another: what a row_sparse_pull of the same
  // ids reads. A lazy rule on host float or double weights writes each row
  // out right after updating it, while it is in cache (one pass over the
  // table's rows instead of two); anything else gathers after the update.
  // Throws invalid_argument when grad is not row_sparse or rows_out is not
  // a host array of the weight's dtype with room for the rows.
  void update_and_copy_rows(const ndarray& grad, ndarray& weight, std::vector<ndarray>& state,
                            uint64_t t, const ndarray& rows_out, uint64_t first) const;

  // Binary configuration (cereal), as servers receive it.
  std::string serialize() const;
  static std::shared_ptr<optimizer> deserialize(const std::string& bytes);

  // The optimizer names create_optimizer accepts.
  static std::vector<std::string> names();

private:
  // update(); with copy_to (host rows of the weight's dtype), a lazy rule's
  // rows are also written there as they are updated, and *copied says so.
  void apply(const ndarray& grad, ndarray& weight, std::vector<ndarray>& state, uint64_t t,
             const std::vector<int64_t>* rows, void* copy_to, bool* copied) const;

  std::string name_;
  std::map<std::string, double> numbers_;
  std::map<std::string, std::string> options_;
  // Built once from numbers_ and options_: updates only evaluate it.
  std::shared_ptr<const detail::lr_schedule> schedule_;
};

// name: "sgd", "nag", "adam", "adagrad", "rmsprop", "signum", "ftrl",
// "lamb", "test". Numbers as MXNet names them (learning_rate, wd,
// rescale_grad, clip_gradient, momentum, beta1, beta2, epsilon, gamma1,
// gamma2, centered, lamda1, beta, lazy_update, multi_precision, ...);
// options for the scheduler ({"lr_scheduler", "factor|multifactor|poly|
// cosine"}, {"step", "100,200"}, {"warmup_mode", "linear|constant"}).
// An unknown name, parameter or value throws kvs::error (invalid_argument)
// listing what is accepted.
std::shared_ptr<optimizer> create_optimizer(
    const std::string& name, const std::map<std::string, double>& numbers = {},
    const std::map<std::string, std::string>& options = {});

}  // namespace kvs
