#pragma once
// A plain reference of gradient compression, written from the rules
// (docs/compression.md, MXNet's gradient_compression), one value at a time,
// for the tests to compute expected values; never the code under test.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace ref {

// 2bit: a = g + r; a >= t: +t (code 3), r = a - t; a <= -t: -t (code 2),
// r = a + t; else 0 (code 0), r = a.
inline float two_bit(float g, float& r, float t, uint8_t& code) {
  float a = g + r;
  if (a >= t) {
    code = 3;
    r = a - t;
    return t;
  }
  if (a <= -t) {
    code = 2;
    r = a + t;
    return -t;
  }
  code = 0;
  r = a;
  return 0.0f;
}

// 1bit: a = g + r; a > t: +1 (bit 1), r = a - 1; else -1 (bit 0), r = a + 1.
inline float one_bit(float g, float& r, float t, uint8_t& bit) {
  float a = g + r;
  if (a > t) {
    bit = 1;
    r = a - 1.0f;
    return 1.0f;
  }
  bit = 0;
  r = a + 1.0f;
  return -1.0f;
}

// fp16: the nearest half (ties to even), back as a float; via the
// compiler's own half type where it has one, else by hand.
inline float half(float x) {
#if defined(__FLT16_MANT_DIG__)
  return static_cast<float>(static_cast<_Float16>(x));
#else
  // (clang 14 on x86-64, the sanitized build): round x to a multiple of
  // the half's quantum at x's binade, in double, where each step is exact.
  if (std::isnan(x))
    return x;
  int e = 0;
  std::frexp(x, &e);  // |x| in [2^(e-1), 2^e)
  double quantum = std::ldexp(1.0, std::max(e, -13) - 11);  // subnormals: 2^-24
  double r = std::nearbyint(static_cast<double>(x) / quantum) * quantum;  // ties to even
  if (std::fabs(r) > 65504.0)
    return std::copysign(std::numeric_limits<float>::infinity(), x);
  return static_cast<float>(r);
#endif
}

// What a push of `g` sends with codec `type` ("2bit", "1bit", "fp16"),
// updating the residual `r`.
inline std::vector<float> send(const std::string& type, const std::vector<float>& g,
                               std::vector<float>& r, float t) {
  std::vector<float> out(g.size());
  uint8_t code = 0;
  for (size_t i = 0; i < g.size(); ++i)
    out[i] = type == "2bit"   ? two_bit(g[i], r[i], t, code)
             : type == "1bit" ? one_bit(g[i], r[i], t, code)
                              : half(g[i]);
  return out;
}

}  // namespace ref
