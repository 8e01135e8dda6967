#include "core/optimizer_math.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

namespace kvs::detail {

namespace {

template <class T>
inline T clip(T x, T bound) {
  return x > bound ? bound : (x < -bound ? -bound : x);
}

template <class T>
inline T sign(T x) {
  return static_cast<T>((x > T(0)) - (x < T(0)));
}

// The scalars every rule starts from, cast to T.
template <class T>
struct common {
  explicit common(const opt_scalars& p)
      : lr(static_cast<T>(p.lr)),
        wd(static_cast<T>(p.wd)),
        rs(static_cast<T>(p.rescale)),
        cg(static_cast<T>(p.clip)),
        do_clip(p.clip >= 0) {}
  T clipped(T r) const { return do_clip ? clip(r, cg) : r; }
  T lr, wd, rs, cg;
  bool do_clip;
};

template <class T>
void sgd(const opt_scalars& p, T* __restrict w, const T* __restrict g, T* const* s, size_t b,
         size_t e) {
  const common<T> c{p};
  if (p.momentum == 0) {  // MXNet SGDKernel
    const T keep = T(1) - c.lr * c.wd;
    for (size_t i = b; i < e; ++i)
      w[i] = keep * w[i] - c.lr * c.clipped(c.rs * g[i]);
    return;
  }
  const T m = static_cast<T>(p.momentum), lrwd = c.lr * c.wd;  // MXNet SGDMomKernel
  T* __restrict mom = s[0];
  for (size_t i = b; i < e; ++i) {
    mom[i] = m * mom[i] - lrwd * w[i] - c.lr * c.clipped(c.rs * g[i]);
    w[i] = w[i] + mom[i];
  }
}

template <class T>
void nag(const opt_scalars& p, T* __restrict w, const T* __restrict g, T* const* s, size_t b,
         size_t e) {  // MXNet NAG.update (python/mxnet/optimizer.py)
  const common<T> c{p};
  const T m = static_cast<T>(p.momentum);
  if (p.momentum == 0) {
    for (size_t i = b; i < e; ++i)
      w[i] += -c.lr * (c.clipped(c.rs * g[i]) + c.wd * w[i]);
    return;
  }
  T* __restrict mom = s[0];
  for (size_t i = b; i < e; ++i) {
    T r = c.clipped(c.rs * g[i]);
    mom[i] *= m;
    r += c.wd * w[i];
    mom[i] += r;
    r += m * mom[i];
    w[i] += -c.lr * r;
  }
}

template <class T>
void adam(const opt_scalars& p, T* __restrict w, const T* __restrict g, T* const* s, size_t b,
          size_t e) {  // MXNet AdamUpdateKernel; lr carries the bias correction
  const common<T> c{p};
  const T b1 = static_cast<T>(p.beta1), b2 = static_cast<T>(p.beta2);
  const T eps = static_cast<T>(p.epsilon), one = T(1);
  T* __restrict mean = s[0];
  T* __restrict var = s[1];
  for (size_t i = b; i < e; ++i) {
    T r = c.clipped(g[i] * c.rs + w[i] * c.wd);
    mean[i] = b1 * mean[i] + (one - b1) * r;
    var[i] = b2 * var[i] + (one - b2) * r * r;
    w[i] = w[i] - c.lr * mean[i] / (std::sqrt(var[i]) + eps);
  }
}

template <class T>
void adagrad(const opt_scalars& p, T* __restrict w, const T* __restrict g, T* const* s, size_t b,
             size_t e) {  // MXNet AdaGrad.update (python/mxnet/optimizer.py)
  const common<T> c{p};
  const T eps = static_cast<T>(p.epsilon);
  T* __restrict hist = s[0];
  for (size_t i = b; i < e; ++i) {
    T r = c.clipped(g[i] * c.rs);
    hist[i] += r * r;
    T div = r / std::sqrt(hist[i] + eps);
    w[i] += (div + w[i] * c.wd) * -c.lr;
  }
}

template <class T>
void rmsprop(const opt_scalars& p, T* __restrict w, const T* __restrict g, T* const* s, size_t b,
             size_t e) {  // MXNet RMSPropUpdate / RMSPropAlexUpdate
  const common<T> c{p};
  const T g1 = static_cast<T>(p.gamma1), g2 = static_cast<T>(p.gamma2), one = T(1);
  const T eps = static_cast<T>(p.epsilon), cw = static_cast<T>(p.clip_weights);
  const bool clip_w = p.clip_weights >= 0;
  T* __restrict n = s[0];
  if (!p.centered) {
    for (size_t i = b; i < e; ++i) {
      T r = c.clipped(c.rs * g[i] + c.wd * w[i]);
      n[i] = (one - g1) * (r * r) + g1 * n[i];
      T out = w[i] - c.lr * (r / std::sqrt(n[i] + eps));
      w[i] = clip_w ? clip(out, cw) : out;
    }
    return;
  }
  T* __restrict gs = s[1];
  T* __restrict delta = s[2];
  for (size_t i = b; i < e; ++i) {
    T r = c.clipped(c.rs * g[i] + c.wd * w[i]);
    n[i] = (one - g1) * (r * r) + g1 * n[i];
    gs[i] = (one - g1) * r + g1 * gs[i];
    delta[i] = g2 * delta[i] - c.lr * (r / std::sqrt(n[i] - gs[i] * gs[i] + eps));
    T out = w[i] + delta[i];
    w[i] = clip_w ? clip(out, cw) : out;
  }
}

template <class T>
void signum(const opt_scalars& p, T* __restrict w, const T* __restrict g, T* const* s, size_t b,
            size_t e) {  // MXNet SignumKernel / SignSGDKernel
  const common<T> c{p};
  const T one = T(1);
  if (p.momentum == 0) {
    const T keep = one - c.lr * c.wd;
    for (size_t i = b; i < e; ++i)
      w[i] = keep * w[i] - c.lr * sign(g[i]);
    return;
  }
  const T m = static_cast<T>(p.momentum), keep = one - c.lr * static_cast<T>(p.wd_lh);
  T* __restrict mom = s[0];
  for (size_t i = b; i < e; ++i) {
    T r = c.clipped(c.rs * g[i]);
    mom[i] = m * mom[i] - (one - m) * c.wd * w[i] - (one - m) * r;
    w[i] = keep * w[i] + c.lr * sign(mom[i]);
  }
}

template <class T>
void ftrl(const opt_scalars& p, T* __restrict w, const T* __restrict g, T* const* s, size_t b,
          size_t e) {  // MXNet FtrlUpdate
  const common<T> c{p};
  const T l1 = static_cast<T>(p.lamda1), beta = static_cast<T>(p.beta), one = T(1);
  T* __restrict z = s[0];
  T* __restrict n = s[1];
  for (size_t i = b; i < e; ++i) {
    T r = c.clipped(c.rs * g[i]);
    z[i] += r - (std::sqrt(n[i] + r * r) - std::sqrt(n[i])) * w[i] / c.lr;
    n[i] += r * r;
    T active = std::abs(z[i]) > l1 ? one : T(0);
    w[i] = (sign(z[i]) * l1 - z[i]) / ((beta + std::sqrt(n[i])) / c.lr + c.wd) * active;
  }
}

// LAMB's trust ratio: ||w|| (clamped to the bounds) over ||u||.
template <class T>
T lamb_lr(const opt_scalars& p, double w_sq, double u_sq) {
  T n1 = static_cast<T>(std::sqrt(w_sq)), n2 = static_cast<T>(std::sqrt(u_sq));
  if (p.lower_bound >= 0) n1 = std::max(n1, static_cast<T>(p.lower_bound));
  if (p.upper_bound >= 0) n1 = std::min(n1, static_cast<T>(p.upper_bound));
  T lr = static_cast<T>(p.lr);
  return (n1 == T(0) || n2 == T(0)) ? lr : lr * n1 / n2;
}

template <class T>
void lamb(const opt_scalars& p, T* w, const T* g, T* const* s, size_t b, size_t e) {
  // MXNet LambUpdatePhaseOne / LambUpdatePhaseTwo; [b, e) is the whole array.
  const common<T> c{p};
  const T b1 = static_cast<T>(p.beta1), b2 = static_cast<T>(p.beta2);
  const T eps = static_cast<T>(p.epsilon), one = T(1);
  const T c1 = static_cast<T>(1.0 - std::pow(p.beta1, static_cast<double>(p.t)));
  const T c2 = static_cast<T>(1.0 - std::pow(p.beta2, static_cast<double>(p.t)));
  T* mean = s[0];
  T* var = s[1];
  std::vector<T> upd(e - b);
  double r1 = 0, r2 = 0;
  for (size_t i = b; i < e; ++i) {
    T r = c.clipped(g[i] * c.rs);
    mean[i] = b1 * mean[i] + (one - b1) * r;
    var[i] = b2 * var[i] + (one - b2) * r * r;
    T u = p.bias_correction ? (mean[i] / c1) / (std::sqrt(var[i] / c2) + eps) + c.wd * w[i]
                            : mean[i] / (std::sqrt(var[i]) + eps) + c.wd * w[i];
    upd[i - b] = u;
    r1 += static_cast<double>(w[i]) * static_cast<double>(w[i]);
    r2 += static_cast<double>(u) * static_cast<double>(u);
  }
  const T new_lr = lamb_lr<T>(p, r1, r2);
  for (size_t i = b; i < e; ++i)
    w[i] = w[i] - new_lr * upd[i - b];
}

template <class T>
void test(const opt_scalars& p, T* __restrict w, const T* __restrict g, T* const*, size_t b,
          size_t e) {  // MXNet's Test optimizer: w += rescale_grad * g
  const T rs = static_cast<T>(p.rescale);
  for (size_t i = b; i < e; ++i)
    w[i] += g[i] * rs;
}

// The lazy rules (sgd, adam) also run row by row over rows scattered in a
// big table, where each row is a memory miss: with wider vectors a row
// takes fewer instructions, so more rows' misses are in flight at once
// (bench/sparse_pushpull's step 1.4x faster on AVX-512, docs/benchmarks.md).
// The loader picks the widest clone this CPU runs. No clone fuses a
// multiply and an add (this file is built with -ffp-contract=off: AVX-512F
// has fused instructions), so every clone computes the same bits as the
// default one (tests/optimizer/rule_bits_test.cpp).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KVS_WIDE_RULE __attribute__((flatten, target_clones("avx512f", "avx2", "default")))
#else
#define KVS_WIDE_RULE
#endif
#define KVS_WIDE(rule, T, name)                                                              \
  KVS_WIDE_RULE void name(const opt_scalars& p, T* __restrict w, const T* __restrict g,      \
                          T* const* s, size_t b, size_t e) {                                 \
    rule<T>(p, w, g, s, b, e);                                                               \
  }
KVS_WIDE(sgd, float, wide_sgd_f32)
KVS_WIDE(sgd, double, wide_sgd_f64)
KVS_WIDE(adam, float, wide_adam_f32)
KVS_WIDE(adam, double, wide_adam_f64)
#undef KVS_WIDE

// State arrays per key.
uint32_t no_state(const opt_scalars&) { return 0; }
uint32_t one_state(const opt_scalars&) { return 1; }
uint32_t two_states(const opt_scalars&) { return 2; }
uint32_t momentum_state(const opt_scalars& p) { return p.momentum > 0 ? 1 : 0; }
uint32_t rmsprop_states(const opt_scalars& p) { return p.centered ? 3 : 1; }

// One row per rule, in opt_kind order: its function, its state, lazy rows.
constexpr opt_rule rules[] = {
    {opt_kind::sgd, wide_sgd_f32, wide_sgd_f64, momentum_state, true},
    {opt_kind::nag, nag<float>, nag<double>, momentum_state, false},
    {opt_kind::adam, wide_adam_f32, wide_adam_f64, two_states, true},
    {opt_kind::adagrad, adagrad<float>, adagrad<double>, one_state, false},
    {opt_kind::rmsprop, rmsprop<float>, rmsprop<double>, rmsprop_states, false},
    {opt_kind::signum, signum<float>, signum<double>, momentum_state, false},
    {opt_kind::ftrl, ftrl<float>, ftrl<double>, two_states, false},
    {opt_kind::lamb, lamb<float>, lamb<double>, two_states, false},
    {opt_kind::test, test<float>, test<double>, no_state, false},
};

constexpr bool rows_in_kind_order() {
  for (size_t i = 0; i < std::size(rules); ++i)
    if (static_cast<size_t>(rules[i].kind) != i)
      return false;
  return std::size(rules) == opt_kind_count;
}
static_assert(rows_in_kind_order(), "one row per opt_kind, in the enum's order");

}  // namespace

const opt_rule& rule_of(opt_kind kind) { return rules[static_cast<size_t>(kind)]; }

}  // namespace kvs::detail
