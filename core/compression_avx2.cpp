// The quantizers' AVX2/F16C loops (core/compression_avx2.hpp): 8 values per
// step; comparisons give lane masks, movemask turns them into bits and a
// small table places the bits as MXNet packs them (element 0 on top).
#include "core/compression_avx2.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <immintrin.h>

#include <array>

#define KVS_AVX2 __attribute__((target("avx2,f16c")))

namespace kvs::detail::avx2 {

namespace {

// 2bit: the byte of 4 values from their 4 "sent" bits (value j at bit j)
// and their 4 "positive" bits (at bit 4 + j): value j's code (sent, positive)
// at bits 7 - 2j and 6 - 2j.
constexpr std::array<uint8_t, 256> two_bit_bytes() {
  std::array<uint8_t, 256> lut{};
  for (int i = 0; i < 256; ++i) {
    int byte = 0;
    for (int j = 0; j < 4; ++j) {
      int code = ((i >> j) & 1) << 1 | ((i >> (4 + j)) & 1);
      byte |= code << (6 - 2 * j);
    }
    lut[i] = static_cast<uint8_t>(byte);
  }
  return lut;
}
constexpr auto pack2 = two_bit_bytes();

// 1bit: a byte's bits in reverse order (movemask puts value 0 at bit 0).
constexpr std::array<uint8_t, 256> reversed_bytes() {
  std::array<uint8_t, 256> lut{};
  for (int i = 0; i < 256; ++i) {
    int byte = 0;
    for (int j = 0; j < 8; ++j)
      byte |= ((i >> j) & 1) << (7 - j);
    lut[i] = static_cast<uint8_t>(byte);
  }
  return lut;
}
constexpr auto reverse8 = reversed_bytes();

KVS_AVX2 inline void put(float* out, __m256 v, bool add) {
  _mm256_storeu_ps(out, add ? _mm256_add_ps(_mm256_loadu_ps(out), v) : v);
}

}  // namespace

bool available() {
  static const bool yes = [] {
    __builtin_cpu_init();
    // avx2 also says the OS saves the AVX registers; F16C by its CPUID bit
    // (clang's __builtin_cpu_supports does not know "f16c")
    // and the OS must save the YMM registers (OSXSAVE, then XCR0 bits 1-2),
    // checked here too rather than trusting every toolchain's avx2 test
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__builtin_cpu_supports("avx2") || __get_cpuid(1, &a, &b, &c, &d) == 0 ||
        (c & bit_F16C) == 0 || (c & bit_OSXSAVE) == 0)
      return false;
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6u) == 6u;
  }();
  return yes;
}

KVS_AVX2 size_t compress_2bit(const float* g, const float* r, float* r_out, size_t n, float t,
                              uint8_t* out) {
  const __m256 pt = _mm256_set1_ps(t), nt = _mm256_set1_ps(-t);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 a = _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_loadu_ps(r + i));
    __m256 pos = _mm256_cmp_ps(a, pt, _CMP_GE_OQ), neg = _mm256_cmp_ps(a, nt, _CMP_LE_OQ);
    __m256 res = _mm256_blendv_ps(a, _mm256_sub_ps(a, pt), pos);
    _mm256_storeu_ps(r_out + i, _mm256_blendv_ps(res, _mm256_add_ps(a, pt), neg));
    unsigned p = static_cast<unsigned>(_mm256_movemask_ps(pos));
    unsigned s = static_cast<unsigned>(_mm256_movemask_ps(_mm256_or_ps(pos, neg)));
    out[i / 4] = pack2[(s & 15u) | (p & 15u) << 4];
    out[i / 4 + 1] = pack2[s >> 4 | (p >> 4) << 4];
  }
  return i;
}

KVS_AVX2 size_t compress_1bit(const float* g, const float* r, float* r_out, size_t n, float t,
                              uint8_t* out) {
  const __m256 pt = _mm256_set1_ps(t), plus = _mm256_set1_ps(1.0f), minus = _mm256_set1_ps(-1.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 a = _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_loadu_ps(r + i));
    __m256 one = _mm256_cmp_ps(a, pt, _CMP_GT_OQ);
    _mm256_storeu_ps(r_out + i, _mm256_add_ps(a, _mm256_blendv_ps(plus, minus, one)));
    out[i / 8] = reverse8[static_cast<unsigned>(_mm256_movemask_ps(one))];
  }
  return i;
}

// F16C rounds to nearest even like the portable loop; a NaN becomes the
// portable loop's quiet NaN 0x7e00 (with its sign) instead of keeping its
// payload.
KVS_AVX2 size_t compress_fp16(const float* g, size_t n, uint8_t* out) {
  const __m128i sign = _mm_set1_epi16(static_cast<short>(0x8000)), qnan = _mm_set1_epi16(0x7e00);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(g + i);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    __m128i nan16 = _mm_packs_epi32(_mm256_castsi256_si128(nan), _mm256_extracti128_si256(nan, 1));
    __m128i fixed = _mm_or_si128(_mm_and_si128(h, sign), qnan);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), _mm_blendv_epi8(h, fixed, nan16));
  }
  return i;
}

// Code c of a value picks lane c of {0*t, 0*t, -1*t, +1*t}: the portable
// loop's products, so the same results for any t.
KVS_AVX2 size_t decompress_2bit(const uint8_t* in, size_t n, float t, float* out, bool add) {
  const __m256 values = _mm256_setr_ps(0.0f * t, 0.0f * t, -1.0f * t, 1.0f * t, 0, 0, 0, 0);
  const __m256i shifts = _mm256_setr_epi32(6, 4, 2, 0, 14, 12, 10, 8), three = _mm256_set1_epi32(3);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    int two = in[i / 4] | in[i / 4 + 1] << 8;
    __m256i code = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(two), shifts), three);
    put(out + i, _mm256_permutevar8x32_ps(values, code), add);
  }
  return i;
}

KVS_AVX2 size_t decompress_1bit(const uint8_t* in, size_t n, float* out, bool add) {
  const __m256i bits = _mm256_setr_epi32(128, 64, 32, 16, 8, 4, 2, 1);
  const __m256 plus = _mm256_set1_ps(1.0f), minus = _mm256_set1_ps(-1.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i set = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(in[i / 8]), bits), bits);
    put(out + i, _mm256_blendv_ps(minus, plus, _mm256_castsi256_ps(set)), add);
  }
  return i;
}

// F16C widens exactly; it also sets a NaN's quiet bit, which the portable
// loop keeps as sent: cleared again where the half had it clear.
KVS_AVX2 size_t decompress_fp16(const uint8_t* in, size_t n, float* out, bool add) {
  const __m256i magnitude = _mm256_set1_epi32(0x7fff), inf = _mm256_set1_epi32(0x7c00),
                quiet = _mm256_set1_epi32(0x400000);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));
    __m256 f = _mm256_cvtph_ps(h);
    __m256i wide = _mm256_cvtepu16_epi32(h);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(wide, magnitude), inf);
    __m256i clear = _mm256_and_si256(nan, _mm256_andnot_si256(_mm256_slli_epi32(wide, 13), quiet));
    put(out + i, _mm256_castsi256_ps(_mm256_andnot_si256(clear, _mm256_castps_si256(f))), add);
  }
  return i;
}

}  // namespace kvs::detail::avx2

#else  // not x86: no such loops, the portable ones do everything

namespace kvs::detail::avx2 {
bool available() { return false; }
size_t compress_2bit(const float*, const float*, float*, size_t, float, uint8_t*) { return 0; }
size_t compress_1bit(const float*, const float*, float*, size_t, float, uint8_t*) { return 0; }
size_t compress_fp16(const float*, size_t, uint8_t*) { return 0; }
size_t decompress_2bit(const uint8_t*, size_t, float, float*, bool) { return 0; }
size_t decompress_1bit(const uint8_t*, size_t, float*, bool) { return 0; }
size_t decompress_fp16(const uint8_t*, size_t, float*, bool) { return 0; }
}  // namespace kvs::detail::avx2

#endif
