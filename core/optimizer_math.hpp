#pragma once
// The update rules of the optimizers, on plain float or double arrays: one
// function per rule (core/optimizer_math.cpp), found through one table keyed
// by the rule. Each follows MXNet's kernel or Python code line for line
// (docs/optimizers.md names the source of each); all scalars are cast to T
// first, as MXNet's kernels do. Adding a rule is adding its function and its
// row in that table (and its name and defaults in core/optimizer.cpp).
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace kvs::detail {

enum class opt_kind : uint8_t { sgd, nag, adam, adagrad, rmsprop, signum, ftrl, lamb, test };
constexpr size_t opt_kind_count = 9;  // the rule table has one row per kind, in this order

struct opt_scalars {
  double lr = 0.01;  // after the scheduler (and, for adam, bias correction)
  double wd = 0, rescale = 1, clip = -1;  // clip < 0: no clipping
  double momentum = 0, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double gamma1 = 0.9, gamma2 = 0.9, clip_weights = -1;
  double lamda1 = 0.01, beta = 1, wd_lh = 0;
  double lower_bound = -1, upper_bound = -1;
  bool centered = false, bias_correction = true;
  uint64_t t = 1;  // this key's update count
};

// A rule: updates elements [begin, end) of w with gradient g; s holds the
// state arrays in the order the rule declares them.
template <class T>
using rule_fn = void (*)(const opt_scalars& p, T* w, const T* g, T* const* s, size_t begin,
                         size_t end);

struct opt_rule {
  opt_kind kind;
  rule_fn<float> f32;
  rule_fn<double> f64;
  // State arrays per key (of the weight's shape), not counting the fp32
  // master copy of multi-precision.
  uint32_t (*state_arrays)(const opt_scalars& p);
  // With lazy_update, a row_sparse gradient updates only its rows. A rule
  // without it always gets the whole array (lamb needs whole-array norms).
  bool lazy_rows;

  template <class T>
  rule_fn<T> fn() const {
    if constexpr (std::is_same_v<T, float>)
      return f32;
    else
      return f64;
  }
};

const opt_rule& rule_of(opt_kind kind);

}  // namespace kvs::detail
