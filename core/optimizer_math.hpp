#pragma once
// The update rules of the optimizers, on plain float or double arrays. Each
// follows MXNet's kernel or Python code line for line (docs/optimizers.md
// names the source of each); all scalars are cast to T first, as MXNet's
// kernels do.
#include <cstddef>
#include <cstdint>

namespace kvs::detail {

enum class opt_kind : uint8_t { sgd, nag, adam, adagrad, rmsprop, signum, ftrl, lamb, test };

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

// Updates elements [begin, end) of w with gradient g; s holds the state
// arrays in the order the optimizer declares them. Not for lamb.
template <class T>
void update_elements(opt_kind kind, const opt_scalars& p, T* w, const T* g, T* const* s,
                     size_t begin, size_t end);

// LAMB needs norms over the whole array; `scratch` holds n elements.
template <class T>
void update_lamb(const opt_scalars& p, T* w, const T* g, T* const* s, T* scratch, size_t n);

}  // namespace kvs::detail
