#include "core/compression.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/compression_avx2.hpp"
#include "kvs/error.hpp"

// The portable loops: no branches per element (comparisons become selects
// or 0/1 factors), so the compiler vectorizes them for the baseline ISA;
// this file is built with -O3. Where the CPU has AVX2 and F16C, the loops
// of core/compression_avx2.cpp do all but a last partial group of 8.
// The packing multiplies read codes as little-endian words.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "core/compression.cpp packs codes assuming a little-endian host"
#endif

namespace kvs::detail {

namespace {

size_t words(size_t n, size_t per_word) { return (n + per_word - 1) / per_word; }

[[noreturn]] void bad(const std::string& what) { throw kvs::error(errc::invalid_argument, what); }

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// All ones when c holds, else 0: a select without a branch.
inline uint32_t mask(bool c) { return 0u - static_cast<uint32_t>(c); }

// Codes are computed a block at a time in a plain loop the compiler
// vectorizes (compare, select, store a byte), then packed 4 to a byte.
constexpr size_t block = 256;

// Packs the 2-bit codes of 4 bytes into one byte, the first in the top bits:
// one multiply moves code j from bit 8j to bit 30 - 2j (no carries reach
// bit 24: the other products stay below it).
inline uint8_t pack4(const uint8_t* code) {
  uint32_t u;
  std::memcpy(&u, code, 4);  // little-endian: code[j] at bit 8j
  return static_cast<uint8_t>((u * 0x40100401u) >> 24);
}

// The shape both quantizers share: a block of codes from (g, r) by `rule`
// (which also gives the next residual, written to r_out: r itself, or
// another array), the unused tail of the last byte zeroed, then packed
// `PerByte` codes to a byte by `pack`.
template <size_t PerByte, class Rule, class Pack>
inline void compress_blocks(const float* g, const float* r, float* r_out, size_t n, uint8_t* out,
                            Rule rule, Pack pack) {
  static_assert(block % PerByte == 0);
  alignas(64) uint8_t code[block];
  for (size_t base = 0; base < n; base += block) {
    size_t m = std::min(block, n - base);
    const float* gb = g + base;
    const float* rb = r + base;
    float* ob_r = r_out + base;
    for (size_t k = 0; k < m; ++k)
      code[k] = rule(gb[k], rb[k], ob_r[k]);
    size_t bytes = (m + PerByte - 1) / PerByte;
    for (size_t k = m; k < bytes * PerByte; ++k)
      code[k] = 0;  // the unused tail of the last byte
    uint8_t* ob = out + base / PerByte;
    for (size_t b = 0; b < bytes; ++b)
      ob[b] = pack(code + PerByte * b);
  }
}

// 2bit: code 3 (sent +t), 2 (sent -t) or 0, element 0 in the top bits.
void compress_2bit(const float* g, const float* r, float* r_out, size_t n, float t,
                   uint8_t* out) {
  compress_blocks<4>(g, r, r_out, n, out, [t](float gk, float rk, float& next) {
    float a = gk + rk;
    int pos = a >= t, neg = a <= -t;
    // r = a - t, a - (-t), or exactly a: selects by masks (ternaries here
    // would not vectorize; 0/1 factors would turn -0 into +0)
    uint32_t sent = mask(pos | neg);
    float d = float_of(bits_of(t) ^ (mask(neg) & 0x80000000u));  // +t or -t
    next = float_of((bits_of(a - d) & sent) | (bits_of(a) & ~sent));
    return static_cast<uint8_t>(3 * pos + 2 * neg);
  }, pack4);
}

// Code c of a value: c >> 1 says sent (0: zero), c & 1 the sign (1: +t).
// `Add`: out += the values (a push summed as it is unpacked), else out = them.
template <bool Add>
inline void put(float& out, float v) {
  out = Add ? out + v : v;
}

template <bool Add>
inline void unpack4_2bit(uint8_t byte, float t, float* out, size_t count) {
  for (size_t k = 0; k < count; ++k) {
    int c = (byte >> (6 - 2 * k)) & 3;
    put<Add>(out[k], static_cast<float>((c >> 1) * (2 * (c & 1) - 1)) * t);
  }
}

template <bool Add>
void decompress_2bit(const uint8_t* in, size_t n, float t, float* out) {
  size_t full = n / 4;
  for (size_t b = 0; b < full; ++b)
    unpack4_2bit<Add>(in[b], t, out + 4 * b, 4);
  if (n % 4 != 0)
    unpack4_2bit<Add>(in[full], t, out + 4 * full, n % 4);
}

// Packs the bits of 8 bytes (0 or 1) into one byte, the first on top: one
// multiply moves bit j from bit 8j to bit 63 - j.
inline uint8_t pack8(const uint8_t* bit) {
  uint64_t u;
  std::memcpy(&u, bit, 8);
  return static_cast<uint8_t>((u * 0x8040201008040201ull) >> 56);
}

// 1bit: bit 1 (sent +1) or 0 (sent -1), element 0 in the top bit.
void compress_1bit(const float* g, const float* r, float* r_out, size_t n, float t,
                   uint8_t* out) {
  compress_blocks<8>(g, r, r_out, n, out, [t](float gk, float rk, float& next) {
    float a = gk + rk;
    int one = a > t;
    next = a + static_cast<float>(1 - 2 * one);  // a - 1 when sent as +1, else a + 1
    return static_cast<uint8_t>(one);
  }, pack8);
}

template <bool Add>
inline void unpack8_1bit(uint8_t byte, float* out, size_t count) {
  for (size_t k = 0; k < count; ++k)
    put<Add>(out[k], static_cast<float>(2 * ((byte >> (7 - k)) & 1) - 1));
}

template <bool Add>
void decompress_1bit(const uint8_t* in, size_t n, float* out) {
  size_t full = n / 8;
  for (size_t b = 0; b < full; ++b)
    unpack8_1bit<Add>(in[b], out + 8 * b, 8);
  if (n % 8 != 0)
    unpack8_1bit<Add>(in[full], out + 8 * full, n % 8);
}

// IEEE half conversions in integer arithmetic with selects only (no branch
// per value), so they vectorize; the same results as core/element.hpp's
// float_to_half (nearest even; NaN as a quiet NaN) and half_to_float.
inline uint16_t to_half(float value) {
  uint32_t u = bits_of(value);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t x = u & 0x7fffffffu;
  // normal halves: rebias the exponent, round the 13 dropped bits to nearest even
  uint32_t normal = (x - (112u << 23) + 0xfffu + ((x >> 13) & 1u)) >> 13;
  // subnormal halves: let the FPU round, adding 0.5 puts the bits in place
  uint32_t sub = bits_of(float_of(x) + 0.5f) - bits_of(0.5f);
  uint32_t big = 0x7c00u | (mask(x > 0x7f800000u) & 0x200u);  // infinity; NaN quiet
  uint32_t is_big = mask(x >= (143u << 23)), is_sub = mask(x < (113u << 23));
  uint32_t h = (big & is_big) | (sub & is_sub & ~is_big) | (normal & ~is_sub & ~is_big);
  return static_cast<uint16_t>(h | sign);
}

inline float from_half(uint16_t h) {
  uint32_t x = (h & 0x7fffu) << 13;
  uint32_t exp = x & (0x1fu << 23);
  uint32_t normal = x + (112u << 23);
  uint32_t special = x + (224u << 23);  // infinity and NaN
  uint32_t sub = bits_of(float_of(x + (113u << 23)) - float_of(113u << 23));
  uint32_t is_special = mask(exp == (0x1fu << 23)), is_sub = mask(exp == 0);
  uint32_t f = (special & is_special) | (sub & is_sub) | (normal & ~is_special & ~is_sub);
  return float_of(f | (static_cast<uint32_t>(h & 0x8000u) << 16));
}

void compress_fp16(const float* g, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {  // memcpy: no alignment or aliasing assumed of the bytes
    uint16_t h = to_half(g[i]);
    std::memcpy(out + 2 * i, &h, sizeof h);
  }
}

template <bool Add>
void decompress_fp16(const uint8_t* in, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, in + 2 * i, sizeof h);
    put<Add>(out[i], from_half(h));
  }
}

// Unpacks with the AVX2 loops where allowed, the rest (or all) portably;
// SIMD loops stop at a multiple of 8 values: a whole byte of 2bit or 1bit.
template <bool Add>
void unpack(codec c, const uint8_t* in, size_t n, float t, float* out, bool simd) {
  size_t i = 0;
  switch (c) {
    case codec::two_bit:
      i = simd ? avx2::decompress_2bit(in, n, t, out, Add) : 0;
      return decompress_2bit<Add>(in + i / 4, n - i, t, out + i);
    case codec::one_bit:
      i = simd ? avx2::decompress_1bit(in, n, out, Add) : 0;
      return decompress_1bit<Add>(in + i / 8, n - i, out + i);
    case codec::fp16:
      i = simd ? avx2::decompress_fp16(in, n, out, Add) : 0;
      return decompress_fp16<Add>(in + 2 * i, n - i, out + i);
    case codec::none: break;
  }
  bad("decompress: no codec");
}

bool use_simd(quantizer_loops loops) {
  return loops == quantizer_loops::fastest && avx2::available();
}

}  // namespace

bool simd_quantizers() { return avx2::available(); }

const char* codec_name(codec c) {
  switch (c) {
    case codec::none: return "none";
    case codec::two_bit: return "2bit";
    case codec::one_bit: return "1bit";
    case codec::fp16: return "fp16";
  }
  return "?";
}

compression_setting parse_compression(const compression& c) {
  compression_setting s;
  s.pull = c.compress_pull;
  if (c.type == "2bit")
    s.type = codec::two_bit;
  else if (c.type == "1bit")
    s.type = codec::one_bit;
  else if (c.type == "fp16")
    s.type = codec::fp16;
  else
    bad("unknown gradient compression type \"" + c.type + "\"; known: 2bit, 1bit, fp16");
  if (s.type != codec::fp16 && !(c.threshold > 0))
    bad(std::string(codec_name(s.type)) + " gradient compression needs a threshold > 0; got " +
        std::to_string(c.threshold));
  s.threshold = static_cast<float>(c.threshold);
  return s;
}

std::string encode_compression(const compression_setting& s) {
  char t[32];
  std::snprintf(t, sizeof(t), "%.9g", static_cast<double>(s.threshold));  // float round trip
  return std::string(codec_name(s.type)) + "," + t + (s.pull ? ",pull" : "");
}

compression_setting decode_compression(const std::string& body) {
  auto comma = body.find(',');
  if (comma == std::string::npos)
    bad("server command 4 needs \"<type>,<threshold>[,pull]\"; got \"" + body + "\"");
  compression c;
  c.type = body.substr(0, comma);
  auto rest = body.substr(comma + 1);
  auto second = rest.find(',');
  if (second != std::string::npos) {
    if (rest.substr(second + 1) != "pull")
      bad("server command 4: unknown option \"" + rest.substr(second + 1) + "\" in \"" + body +
          "\" (known: pull)");
    c.compress_pull = true;
    rest = rest.substr(0, second);
  }
  char* end = nullptr;
  c.threshold = std::strtod(rest.c_str(), &end);
  if (rest.empty() || end != rest.c_str() + rest.size())
    bad("server command 4: the threshold \"" + rest + "\" in \"" + body + "\" is not a number");
  return parse_compression(c);
}

size_t packed_bytes(codec c, size_t n) {
  switch (c) {
    case codec::two_bit: return 4 * words(n, 16);
    case codec::one_bit: return 4 * words(n, 32);
    case codec::fp16: return 2 * n;
    case codec::none: break;
  }
  return 4 * n;
}

void compress(codec c, const float* g, float* r, size_t n, float threshold, uint8_t* out,
              quantizer_loops loops) {
  compress(c, g, r, r, n, threshold, out, loops);
}

void compress(codec c, const float* g, const float* r, float* r_out, size_t n, float threshold,
              uint8_t* out, quantizer_loops loops) {
  bool simd = use_simd(loops);
  size_t i = 0, written = 0;  // values done by the SIMD loop; bytes the loops write
  switch (c) {
    case codec::two_bit:
      i = simd ? avx2::compress_2bit(g, r, r_out, n, threshold, out) : 0;
      compress_2bit(g + i, r + i, r_out + i, n - i, threshold, out + i / 4);
      written = (n + 3) / 4;
      break;
    case codec::one_bit:
      i = simd ? avx2::compress_1bit(g, r, r_out, n, threshold, out) : 0;
      compress_1bit(g + i, r + i, r_out + i, n - i, threshold, out + i / 8);
      written = (n + 7) / 8;
      break;
    case codec::fp16:
      i = simd ? avx2::compress_fp16(g, n, out) : 0;
      compress_fp16(g + i, n - i, out + 2 * i);
      written = 2 * n;
      break;
    case codec::none: bad("compress: no codec");
  }
  // The unused tail of the last 32-bit word (the loops write every byte before it).
  if (size_t tail = packed_bytes(c, n) - written; tail != 0)  // none: out may be null (n = 0)
    std::memset(out + written, 0, tail);
}

void decompress(codec c, const uint8_t* in, size_t n, float threshold, float* out,
                quantizer_loops loops) {
  unpack<false>(c, in, n, threshold, out, use_simd(loops));
}

void decompress_add(codec c, const uint8_t* in, size_t n, float threshold, float* out,
                    quantizer_loops loops) {
  unpack<true>(c, in, n, threshold, out, use_simd(loops));
}

namespace {

// decompress_sum's pass, `then(b, m)` after each block [b, b + m) is summed.
template <class Then>
void sum_blocks(codec c, const std::vector<const uint8_t*>& in, size_t n, float threshold,
                float* out, bool add, bool simd, Then then) {
  // 4096 values: 16 KB of out, kept in the core's cache while every input
  // is added; a whole number of 32-bit words of each packing, so each
  // input's block starts at a word.
  constexpr size_t block = 4096;
  for (size_t b = 0; b < n; b += block) {
    size_t m = std::min(block, n - b);
    for (size_t k = 0; k < in.size(); ++k) {
      const uint8_t* at = in[k] + packed_bytes(c, b);
      if (k == 0 && !add)
        unpack<false>(c, at, m, threshold, out + b, simd);
      else
        unpack<true>(c, at, m, threshold, out + b, simd);
    }
    then(b, m);
  }
}

}  // namespace

void decompress_sum(codec c, const std::vector<const uint8_t*>& in, size_t n, float threshold,
                    float* out, bool add, quantizer_loops loops) {
  sum_blocks(c, in, n, threshold, out, add, use_simd(loops), [](size_t, size_t) {});
}

void decompress_sum_compress(codec c, const std::vector<const uint8_t*>& in, size_t n,
                             float threshold, float* sum, bool add, const float* r, float* r_out,
                             uint8_t* packed, quantizer_loops loops) {
  bool residual = c != codec::fp16;
  sum_blocks(c, in, n, threshold, sum, add, use_simd(loops), [&](size_t b, size_t m) {
    compress(c, sum + b, residual ? r + b : nullptr, residual ? r_out + b : nullptr, m, threshold,
             packed + packed_bytes(c, b), loops);
  });
}

}  // namespace kvs::detail
