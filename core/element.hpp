#pragma once
// Element conversions between the seven dtypes (f16 and bf16 are kept as
// 16-bit patterns). Used off the hot path: fills, to_vector, densify.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kvs/ndarray.hpp"

namespace kvs::detail {

inline float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t float_to_half(float f) {  // round to nearest even
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u)  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0));
  if (absx >= 0x477ff000u)  // rounds to >= 65520: overflow to inf
    return static_cast<uint16_t>(sign | 0x7c00u);
  if (absx < 0x38800000u) {  // subnormal half or zero
    if (absx < 0x33000000u)
      return static_cast<uint16_t>(sign);
    uint32_t e = absx >> 23, m = (absx & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  // 14 + (112 - e) + ... : places the value at 2^-24 units
    uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u)))
      ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = ((absx >> 13) - (112u << 10));
  uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u)))
    ++r;
  return static_cast<uint16_t>(sign | r);
}

inline float bf16_to_float(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t float_to_bf16(float f) {  // round to nearest even
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet nan
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

// Element i of a buffer of dtype t, as double.
inline double load_element(const void* base, dtype t, size_t i) {
  switch (t) {
    case dtype::f16: return half_to_float(static_cast<const uint16_t*>(base)[i]);
    case dtype::bf16: return bf16_to_float(static_cast<const uint16_t*>(base)[i]);
    case dtype::f32: return static_cast<const float*>(base)[i];
    case dtype::f64: return static_cast<const double*>(base)[i];
    case dtype::i32: return static_cast<const int32_t*>(base)[i];
    case dtype::i64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case dtype::u8: return static_cast<const uint8_t*>(base)[i];
  }
  return 0;
}

inline void store_element(void* base, dtype t, size_t i, double v) {
  switch (t) {
    case dtype::f16: static_cast<uint16_t*>(base)[i] = float_to_half(static_cast<float>(v)); break;
    case dtype::bf16: static_cast<uint16_t*>(base)[i] = float_to_bf16(static_cast<float>(v)); break;
    case dtype::f32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case dtype::f64: static_cast<double*>(base)[i] = v; break;
    case dtype::i32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case dtype::i64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
    case dtype::u8: static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(v); break;
  }
}

}  // namespace kvs::detail
