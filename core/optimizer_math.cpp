#include "core/optimizer_math.hpp"

#include <cmath>

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

}  // namespace

template <class T>
void update_elements(opt_kind kind, const opt_scalars& p, T* __restrict w, const T* __restrict g,
                     T* const* s, size_t b, size_t e) {
  const T lr = static_cast<T>(p.lr), wd = static_cast<T>(p.wd), rs = static_cast<T>(p.rescale);
  const T cg = static_cast<T>(p.clip);
  const bool do_clip = p.clip >= 0;
  const T one = T(1);
  switch (kind) {
    case opt_kind::sgd: {
      if (p.momentum == 0) {  // MXNet SGDKernel
        const T keep = one - lr * wd;
        for (size_t i = b; i < e; ++i) {
          T r = rs * g[i];
          if (do_clip) r = clip(r, cg);
          w[i] = keep * w[i] - lr * r;
        }
      } else {  // MXNet SGDMomKernel
        const T m = static_cast<T>(p.momentum), lrwd = lr * wd;
        T* __restrict mom = s[0];
        for (size_t i = b; i < e; ++i) {
          T r = rs * g[i];
          if (do_clip) r = clip(r, cg);
          mom[i] = m * mom[i] - lrwd * w[i] - lr * r;
          w[i] = w[i] + mom[i];
        }
      }
      return;
    }
    case opt_kind::nag: {  // MXNet NAG.update (python/mxnet/optimizer.py)
      const T m = static_cast<T>(p.momentum);
      if (p.momentum == 0) {
        for (size_t i = b; i < e; ++i) {
          T r = rs * g[i];
          if (do_clip) r = clip(r, cg);
          w[i] += -lr * (r + wd * w[i]);
        }
      } else {
        T* __restrict mom = s[0];
        for (size_t i = b; i < e; ++i) {
          T r = rs * g[i];
          if (do_clip) r = clip(r, cg);
          mom[i] *= m;
          r += wd * w[i];
          mom[i] += r;
          r += m * mom[i];
          w[i] += -lr * r;
        }
      }
      return;
    }
    case opt_kind::adam: {  // MXNet AdamUpdateKernel; lr carries the bias correction
      const T b1 = static_cast<T>(p.beta1), b2 = static_cast<T>(p.beta2);
      const T eps = static_cast<T>(p.epsilon);
      T* __restrict mean = s[0];
      T* __restrict var = s[1];
      for (size_t i = b; i < e; ++i) {
        T r = g[i] * rs + w[i] * wd;
        if (do_clip) r = clip(r, cg);
        mean[i] = b1 * mean[i] + (one - b1) * r;
        var[i] = b2 * var[i] + (one - b2) * r * r;
        w[i] = w[i] - lr * mean[i] / (std::sqrt(var[i]) + eps);
      }
      return;
    }
    case opt_kind::adagrad: {  // MXNet AdaGrad.update (python/mxnet/optimizer.py)
      const T eps = static_cast<T>(p.epsilon);
      T* __restrict hist = s[0];
      for (size_t i = b; i < e; ++i) {
        T r = g[i] * rs;
        if (do_clip) r = clip(r, cg);
        hist[i] += r * r;
        T div = r / std::sqrt(hist[i] + eps);
        w[i] += (div + w[i] * wd) * -lr;
      }
      return;
    }
    case opt_kind::rmsprop: {  // MXNet RMSPropUpdate / RMSPropAlexUpdate
      const T g1 = static_cast<T>(p.gamma1), g2 = static_cast<T>(p.gamma2);
      const T eps = static_cast<T>(p.epsilon), cw = static_cast<T>(p.clip_weights);
      const bool clip_w = p.clip_weights >= 0;
      T* __restrict n = s[0];
      if (!p.centered) {
        for (size_t i = b; i < e; ++i) {
          T r = rs * g[i] + wd * w[i];
          if (do_clip) r = clip(r, cg);
          n[i] = (one - g1) * (r * r) + g1 * n[i];
          T out = w[i] - lr * (r / std::sqrt(n[i] + eps));
          w[i] = clip_w ? clip(out, cw) : out;
        }
      } else {
        T* __restrict gs = s[1];
        T* __restrict delta = s[2];
        for (size_t i = b; i < e; ++i) {
          T r = rs * g[i] + wd * w[i];
          if (do_clip) r = clip(r, cg);
          n[i] = (one - g1) * (r * r) + g1 * n[i];
          gs[i] = (one - g1) * r + g1 * gs[i];
          delta[i] = g2 * delta[i] - lr * (r / std::sqrt(n[i] - gs[i] * gs[i] + eps));
          T out = w[i] + delta[i];
          w[i] = clip_w ? clip(out, cw) : out;
        }
      }
      return;
    }
    case opt_kind::signum: {  // MXNet SignumKernel / SignSGDKernel
      if (p.momentum == 0) {
        const T keep = one - lr * wd;
        for (size_t i = b; i < e; ++i)
          w[i] = keep * w[i] - lr * sign(g[i]);
      } else {
        const T m = static_cast<T>(p.momentum), keep = one - lr * static_cast<T>(p.wd_lh);
        T* __restrict mom = s[0];
        for (size_t i = b; i < e; ++i) {
          T r = rs * g[i];
          if (do_clip) r = clip(r, cg);
          mom[i] = m * mom[i] - (one - m) * wd * w[i] - (one - m) * r;
          w[i] = keep * w[i] + lr * sign(mom[i]);
        }
      }
      return;
    }
    case opt_kind::ftrl: {  // MXNet FtrlUpdate
      const T l1 = static_cast<T>(p.lamda1), beta = static_cast<T>(p.beta);
      T* __restrict z = s[0];
      T* __restrict n = s[1];
      for (size_t i = b; i < e; ++i) {
        T r = rs * g[i];
        if (do_clip) r = clip(r, cg);
        z[i] += r - (std::sqrt(n[i] + r * r) - std::sqrt(n[i])) * w[i] / lr;
        n[i] += r * r;
        T active = std::abs(z[i]) > l1 ? one : T(0);
        w[i] = (sign(z[i]) * l1 - z[i]) / ((beta + std::sqrt(n[i])) / lr + wd) * active;
      }
      return;
    }
    case opt_kind::test: {  // MXNet's Test optimizer: w += rescale_grad * g
      for (size_t i = b; i < e; ++i)
        w[i] += g[i] * rs;
      return;
    }
    case opt_kind::lamb:
      return;  // needs whole-array norms: update_lamb
  }
}

template <class T>
void update_lamb(const opt_scalars& p, T* w, const T* g, T* const* s, T* scratch, size_t n) {
  // MXNet LambUpdatePhaseOne / LambUpdatePhaseTwo.
  const T rs = static_cast<T>(p.rescale), cg = static_cast<T>(p.clip), wd = static_cast<T>(p.wd);
  const T b1 = static_cast<T>(p.beta1), b2 = static_cast<T>(p.beta2), eps = static_cast<T>(p.epsilon);
  const T one = T(1);
  const T c1 = static_cast<T>(1.0 - std::pow(p.beta1, static_cast<double>(p.t)));
  const T c2 = static_cast<T>(1.0 - std::pow(p.beta2, static_cast<double>(p.t)));
  T* mean = s[0];
  T* var = s[1];
  double r1 = 0, r2 = 0;
  for (size_t i = 0; i < n; ++i) {
    T r = g[i] * rs;
    if (p.clip >= 0) r = clip(r, cg);
    mean[i] = b1 * mean[i] + (one - b1) * r;
    var[i] = b2 * var[i] + (one - b2) * r * r;
    T upd;
    if (p.bias_correction)
      upd = (mean[i] / c1) / (std::sqrt(var[i] / c2) + eps) + wd * w[i];
    else
      upd = mean[i] / (std::sqrt(var[i]) + eps) + wd * w[i];
    scratch[i] = upd;
    r1 += static_cast<double>(w[i]) * static_cast<double>(w[i]);
    r2 += static_cast<double>(upd) * static_cast<double>(upd);
  }
  T n1 = static_cast<T>(std::sqrt(r1)), n2 = static_cast<T>(std::sqrt(r2));
  if (p.lower_bound >= 0) n1 = std::max(n1, static_cast<T>(p.lower_bound));
  if (p.upper_bound >= 0) n1 = std::min(n1, static_cast<T>(p.upper_bound));
  T lr = static_cast<T>(p.lr);
  T new_lr = (n1 == T(0) || n2 == T(0)) ? lr : lr * n1 / n2;
  for (size_t i = 0; i < n; ++i)
    w[i] = w[i] - new_lr * scratch[i];
}

template void update_elements<float>(opt_kind, const opt_scalars&, float*, const float*,
                                     float* const*, size_t, size_t);
template void update_elements<double>(opt_kind, const opt_scalars&, double*, const double*,
                                      double* const*, size_t, size_t);
template void update_lamb<float>(const opt_scalars&, float*, const float*, float* const*, float*,
                                 size_t);
template void update_lamb<double>(const opt_scalars&, double*, const double*, double* const*,
                                  double*, size_t);

}  // namespace kvs::detail
