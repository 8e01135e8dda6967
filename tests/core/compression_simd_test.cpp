// The quantizers' AVX2/F16C loops against their portable loops, byte for
// byte and bit for bit (packed bytes, unpacked floats; residuals and sums
// too, except which NaN a sum of two NaNs is), over
// random inputs mixed with the awkward ones: NaNs with payloads, infinities,
// denormals, signed zeros, values at and next to the thresholds and at the
// edges of the half range; sizes with every tail length. Skipped where the
// CPU has no AVX2/F16C (there only the portable loops run).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/compression.hpp"

using namespace kvs;
using kvs::detail::codec;
using kvs::detail::quantizer_loops;

namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Bitwise equality of float arrays: NaNs compare by their bits too.
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), 4 * a.size()) == 0);
}

// Bitwise equality, but any NaN equals any NaN: for sums, where both
// operands can be NaNs. Which payload an add of two NaNs keeps is the
// hardware's and the compiler's choice (x86 keeps the first operand's, and
// a compiler may order the operands of + either way; the portable loop's
// vectorized body and its scalar tail already differ).
bool same_or_both_nan(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], 4) != 0 && !(std::isnan(a[i]) && std::isnan(b[i])))
      return false;
  return true;
}

// Random values, about a third of them awkward ones.
std::vector<float> awkward_values(std::mt19937& gen, size_t n, float t) {
  std::uniform_real_distribution<float> plain(-2.5f * t, 2.5f * t);
  std::uniform_int_distribution<uint32_t> bits;
  const float edges[] = {
      t, -t, std::nextafter(t, 0.0f), std::nextafter(-t, 0.0f), std::nextafter(t, 10.0f * t),
      std::nextafter(-t, -10.0f * t), 0.0f, -0.0f, 1.0f, -1.0f,
      std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
      from_bits(0x7fc00000u), from_bits(0xffc00000u), from_bits(0x7f800001u),  // quiet, signaling
      from_bits(0x7fbfffffu), from_bits(0x7fd55555u), from_bits(0x00000001u),  // NaN payloads; denormal
      from_bits(0x807fffffu), std::numeric_limits<float>::min(), 65504.0f, 65519.996f, 65520.0f,
      -65520.0f, 5.9604645e-8f, 2.9802322e-8f, 8.940697e-8f, 6.1035156e-5f, 6.097555e-5f,
      1.00048828125f,  // a half tie (rounds to even)
      1.00146484375f};
  std::vector<float> out(n);
  for (auto& x : out) {
    auto pick = bits(gen) % 6;
    if (pick == 0)
      x = edges[bits(gen) % (sizeof(edges) / sizeof(edges[0]))];
    else if (pick == 1)
      x = from_bits(bits(gen));  // any pattern
    else
      x = plain(gen);
  }
  return out;
}

}  // namespace

TEST_CASE("the AVX2/F16C quantizer loops give the portable loops' bytes and floats",
          "[compression]") {
  if (!detail::simd_quantizers()) {
    WARN("this CPU has no AVX2/F16C: only the portable loops run here");
    return;
  }
  std::mt19937 gen(2026);
  std::uniform_int_distribution<uint32_t> byte(0, 255);
  const auto simd = quantizer_loops::fastest, portable = quantizer_loops::portable;
  for (auto c : {codec::two_bit, codec::one_bit, codec::fp16})
    for (size_t n : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 64u, 1000u, 4099u})
      for (float t : {0.5f, 0.3f, 1.7f, 1e-40f}) {
        INFO(detail::codec_name(c) << " n " << n << " t " << t);
        std::vector<float> r_simd(n, 0.0f), r_portable(n, 0.0f);
        for (int round = 0; round < 4; ++round) {  // the residuals carry over
          auto g = awkward_values(gen, n, t);
          auto bytes = detail::packed_bytes(c, n);
          std::vector<uint8_t> a(bytes, 0xAB), b(bytes, 0xCD);
          detail::compress(c, g.data(), r_simd.data(), n, t, a.data(), simd);
          detail::compress(c, g.data(), r_portable.data(), n, t, b.data(), portable);
          REQUIRE(a == b);
          REQUIRE(same_or_both_nan(r_simd, r_portable));  // a = g + r: both may be NaNs
          if (round % 2 == 1)  // any bytes, not only packed ones: every code, every half
            for (auto& x : a)
              x = static_cast<uint8_t>(byte(gen));
          std::vector<float> x(n, 42.0f), y(n, -42.0f);
          detail::decompress(c, a.data(), n, t, x.data(), simd);
          detail::decompress(c, a.data(), n, t, y.data(), portable);
          REQUIRE(same_bits(x, y));
          auto acc = awkward_values(gen, n, t), acc2 = acc, plain_sum = acc;
          detail::decompress_add(c, a.data(), n, t, acc.data(), simd);
          detail::decompress_add(c, a.data(), n, t, acc2.data(), portable);
          REQUIRE(same_or_both_nan(acc, acc2));  // acc + value: both may be NaNs
          for (size_t i = 0; i < n; ++i)  // unpacking and then adding: the same floats
            plain_sum[i] += y[i];
          REQUIRE(same_or_both_nan(acc, plain_sum));
        }
      }
}

TEST_CASE("packing into another residual array gives the in-place bytes and residual, "
          "and leaves the residual read as it was",
          "[compression]") {
  std::mt19937 gen(13);
  std::uniform_real_distribution<float> plain(-2.0f, 2.0f);
  for (auto loops : {quantizer_loops::fastest, quantizer_loops::portable})
    for (auto c : {codec::two_bit, codec::one_bit})
      for (size_t n : {1u, 8u, 17u, 1000u}) {
        INFO(detail::codec_name(c) << " n " << n);
        std::vector<float> g(n), r(n);
        for (size_t i = 0; i < n; ++i) {
          g[i] = plain(gen);
          r[i] = plain(gen);
        }
        auto in_place = r, r_before = r;
        std::vector<float> next(n, 7.0f);
        auto bytes = detail::packed_bytes(c, n);
        std::vector<uint8_t> a(bytes, 0xAB), b(bytes, 0xCD);
        detail::compress(c, g.data(), in_place.data(), n, 0.5f, a.data(), loops);
        detail::compress(c, g.data(), r.data(), next.data(), n, 0.5f, b.data(), loops);
        REQUIRE(a == b);
        REQUIRE(next == in_place);
        REQUIRE(r == r_before);
        REQUIRE(next != r_before);
      }
}

TEST_CASE("summing packed buffers in one pass gives the floats of unpacking and adding them "
          "one by one",
          "[compression]") {
  std::mt19937 gen(7);
  std::uniform_int_distribution<uint32_t> byte(0, 255);
  for (auto loops : {quantizer_loops::fastest, quantizer_loops::portable})
    for (auto c : {codec::two_bit, codec::one_bit, codec::fp16})
      for (size_t n : {1u, 33u, 4096u, 10001u})  // within a block, and over several
        for (size_t k : {1u, 2u, 3u})
          for (bool add : {false, true}) {
            INFO(detail::codec_name(c) << " n " << n << " inputs " << k << " add " << add);
            std::vector<std::vector<uint8_t>> packed(k, std::vector<uint8_t>(detail::packed_bytes(c, n)));
            std::vector<const uint8_t*> in;
            for (auto& p : packed) {
              for (auto& x : p)  // any bytes: every code, every half
                x = static_cast<uint8_t>(byte(gen));
              in.push_back(p.data());
            }
            auto start = awkward_values(gen, n, 0.3f);
            auto want = start, got = start;
            for (size_t j = 0; j < k; ++j)
              if (j == 0 && !add)
                detail::decompress(c, in[j], n, 0.3f, want.data(), loops);
              else
                detail::decompress_add(c, in[j], n, 0.3f, want.data(), loops);
            detail::decompress_sum(c, in, n, 0.3f, got.data(), add, loops);
            REQUIRE(same_or_both_nan(got, want));
          }
}

TEST_CASE("summing packed buffers and packing the sum in one pass gives the bytes, sum and "
          "residual of doing one after the other, with either loops, residual in place or not",
          "[compression]") {
  std::mt19937 gen(11);
  std::uniform_int_distribution<uint32_t> byte(0, 255);
  std::uniform_real_distribution<float> plain(-2.0f, 2.0f);
  for (auto loops : {quantizer_loops::fastest, quantizer_loops::portable})
    for (auto c : {codec::two_bit, codec::one_bit, codec::fp16})
      for (size_t n : {5u, 4096u, 10001u})
        for (bool add : {false, true})
          for (bool in_place : {false, true}) {  // in place: a worker's first pull, or a residual one worker holds
            INFO(detail::codec_name(c) << " n " << n << " add " << add << " in place " << in_place
                                       << " portable " << (loops == quantizer_loops::portable));
            auto bytes = detail::packed_bytes(c, n);
            std::vector<std::vector<uint8_t>> packed(2, std::vector<uint8_t>(bytes));
            std::vector<const uint8_t*> in;
            for (auto& p : packed) {
              for (auto& x : p)
                x = static_cast<uint8_t>(byte(gen));
              in.push_back(p.data());
            }
            std::vector<float> start(n), r(n);
            for (size_t i = 0; i < n; ++i) {
              start[i] = plain(gen);
              r[i] = plain(gen);
            }
            auto want_sum = start, got_sum = start, want_r = r;
            std::vector<float> other(n, 9.0f);
            float* got_r = in_place ? r.data() : other.data();
            std::vector<uint8_t> want(bytes, 0xAB), got(bytes, 0xCD);
            // The reference: one step after the other, with the other loops
            // (the AVX2 ones are checked against the portable ones above).
            auto other_loops = loops == quantizer_loops::portable ? quantizer_loops::fastest
                                                                  : quantizer_loops::portable;
            detail::decompress_sum(c, in, n, 0.5f, want_sum.data(), add, other_loops);
            detail::compress(c, want_sum.data(), want_r.data(), n, 0.5f, want.data(), other_loops);
            detail::decompress_sum_compress(c, in, n, 0.5f, got_sum.data(), add, r.data(), got_r,
                                            got.data(), loops);
            REQUIRE(same_or_both_nan(got_sum, want_sum));
            REQUIRE(got == want);
            if (c != codec::fp16)
              REQUIRE(same_or_both_nan(std::vector<float>(got_r, got_r + n), want_r));
          }
}
