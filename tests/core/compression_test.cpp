// The quantizers of core/compression: packed bytes against hand-written
// vectors (MXNet's layout), and several rounds against a plain reference
// written from the rules (docs/compression.md), not from the code under test.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/compression.hpp"
#include "core/element.hpp"
#include "../compression_reference.hpp"

using namespace kvs;
using kvs::detail::codec;

namespace {

// Packs by the layout: 2bit element i in byte i/4 at bits 7-6 for i%4 == 0,
// then 5-4, 3-2, 1-0; 1bit element i in byte i/8, bit 7 - i%8.
std::vector<uint8_t> ref_pack(codec c, const std::vector<float>& g, std::vector<float>& r, float t,
                              std::vector<float>& sent) {
  size_t per_word = c == codec::two_bit ? 16 : 32;
  std::vector<uint8_t> out((g.size() + per_word - 1) / per_word * 4, 0);
  sent.assign(g.size(), 0.0f);
  for (size_t i = 0; i < g.size(); ++i) {
    uint8_t code = 0;
    if (c == codec::two_bit) {
      sent[i] = ref::two_bit(g[i], r[i], t, code);
      out[i / 4] |= static_cast<uint8_t>(code << (6 - 2 * (i % 4)));
    } else {
      sent[i] = ref::one_bit(g[i], r[i], t, code);
      out[i / 8] |= static_cast<uint8_t>(code << (7 - i % 8));
    }
  }
  return out;
}

std::vector<uint8_t> run_compress(codec c, const std::vector<float>& g, std::vector<float>& r,
                                  float t) {
  std::vector<uint8_t> out(detail::packed_bytes(c, g.size()), 0xAB);
  detail::compress(c, g.data(), r.data(), g.size(), t, out.data());
  return out;
}

std::vector<float> run_decompress(codec c, const std::vector<uint8_t>& in, size_t n, float t) {
  std::vector<float> out(n, 42.0f);
  detail::decompress(c, in.data(), n, t, out.data());
  return out;
}

}  // namespace

TEST_CASE("2bit packs 16 values per word, element 0 in the top bits of byte 0", "[compression]") {
  // below, at and above the threshold 0.5, both signs; 17 values: two words
  std::vector<float> g{1.0f, -1.0f, 0.2f, 0.5f,  -0.5f, 0.49f, -0.49f, 0.0f, 3.0f,
                       -3.0f, 0.75f, -0.75f, 0.0f, 0.0f, 0.0f, 0.5f, 1.0f};
  std::vector<float> r(g.size(), 0.0f);
  auto bytes = run_compress(codec::two_bit, g, r, 0.5f);
  // 11 10 00 11 | 10 00 00 00 | 11 10 11 10 | 00 00 00 11 | 11 000000 ...
  std::vector<uint8_t> want{0xE3, 0x80, 0xEE, 0x03, 0xC0, 0x00, 0x00, 0x00};
  REQUIRE(bytes == want);
  std::vector<float> want_r{0.5f, -0.5f, 0.2f, 0.0f, 0.0f,  0.49f, -0.49f, 0.0f, 2.5f,
                            -2.5f, 0.25f, -0.25f, 0.0f, 0.0f, 0.0f, 0.0f, 0.5f};
  REQUIRE(r == want_r);
  std::vector<float> want_v{0.5f, -0.5f, 0, 0.5f, -0.5f, 0, 0, 0, 0.5f, -0.5f, 0.5f, -0.5f,
                            0,    0,     0, 0.5f, 0.5f};
  REQUIRE(run_decompress(codec::two_bit, bytes, g.size(), 0.5f) == want_v);
}

TEST_CASE("1bit packs 32 values per word, element 0 in the top bit of byte 0", "[compression]") {
  std::vector<float> g{1.0f, -1.0f, 0.0f, 0.5f, -0.2f, 2.0f, 0.0f, 0.0f, 5.0f};
  std::vector<float> r(g.size(), 0.0f);
  auto bytes = run_compress(codec::one_bit, g, r, 0.0f);
  // 1 0 0 1 0 1 0 0 | 1 0000000 | unused bytes of the word
  std::vector<uint8_t> want{0x94, 0x80, 0x00, 0x00};
  REQUIRE(bytes == want);
  std::vector<float> want_r{0.0f, 0.0f, 1.0f, -0.5f, 0.8f, 1.0f, 1.0f, 1.0f, 4.0f};
  REQUIRE(r == want_r);
  std::vector<float> want_v{1, -1, -1, 1, -1, 1, -1, -1, 1};
  REQUIRE(run_decompress(codec::one_bit, bytes, g.size(), 0.0f) == want_v);
}

TEST_CASE("fp16 sends IEEE halves, rounded to nearest even", "[compression]") {
  std::vector<float> g{1.0f, -2.0f, 0.5f, 65504.0f, 1.0f + 1.0f / 4096};
  std::vector<float> r(g.size(), 0.0f);
  auto bytes = run_compress(codec::fp16, g, r, 0.5f);
  REQUIRE(bytes.size() == 10);
  std::vector<uint16_t> halves(5);
  std::memcpy(halves.data(), bytes.data(), bytes.size());
  REQUIRE(halves == std::vector<uint16_t>{0x3C00, 0xC000, 0x3800, 0x7BFF, 0x3C00});
  REQUIRE(r == std::vector<float>(5, 0.0f));  // no residual
  REQUIRE(run_decompress(codec::fp16, bytes, 5, 0.5f) ==
          std::vector<float>{1.0f, -2.0f, 0.5f, 65504.0f, 1.0f});
}

TEST_CASE("2bit and 1bit over several rounds match the reference, residuals included",
          "[compression]") {
  std::mt19937 gen(13);
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  for (auto c : {codec::two_bit, codec::one_bit})
    for (size_t n : {1u, 15u, 16u, 17u, 33u, 1003u})
      for (float t : {0.5f, 0.3f, 1.7f}) {
        std::vector<float> r(n, 0.0f), ref_r(n, 0.0f);
        for (int round = 0; round < 6; ++round) {
          std::vector<float> g(n);
          for (auto& x : g)
            x = value(gen);
          if (n > 2) {  // exactly at the thresholds (with the residual)
            g[0] = t - ref_r[0];
            g[1] = -t - ref_r[1];
          }
          std::vector<float> sent;
          auto want = ref_pack(c, g, ref_r, t, sent);
          auto got = run_compress(c, g, r, t);
          INFO(detail::codec_name(c) << " n " << n << " t " << t << " round " << round);
          REQUIRE(got == want);
          REQUIRE(r == ref_r);
          REQUIRE(run_decompress(c, got, n, t) == sent);
        }
      }
}

TEST_CASE("compression settings: known types, thresholds above 0, command 4 bodies",
          "[compression]") {
  auto s = detail::parse_compression({"2bit", 0.25});
  REQUIRE(s.type == codec::two_bit);
  REQUIRE(s.threshold == 0.25f);
  REQUIRE_FALSE(s.pull);
  REQUIRE(detail::encode_compression(s) == "2bit,0.25");
  auto p = detail::decode_compression("1bit,0.100000001,pull");
  REQUIRE(p.type == codec::one_bit);
  REQUIRE(p.threshold == 0.1f);
  REQUIRE(p.pull);
  REQUIRE(detail::decode_compression(detail::encode_compression(p)).threshold == 0.1f);
  REQUIRE(detail::parse_compression({"fp16", 0}).type == codec::fp16);  // no threshold used
  auto fails = [](auto fn, const std::string& part) {
    try {
      fn();
    } catch (const kvs::error& e) {
      REQUIRE(e.code() == errc::invalid_argument);
      INFO(e.what());
      REQUIRE(std::string(e.what()).find(part) != std::string::npos);
      return;
    }
    FAIL("no error for " << part);
  };
  fails([] { detail::parse_compression({"2bit", 0}); }, "threshold > 0");
  fails([] { detail::parse_compression({"1bit", -0.5}); }, "threshold > 0");
  fails([] { detail::parse_compression({"3bit", 0.5}); }, "\"3bit\"");
  fails([] { detail::decode_compression("2bit"); }, "<type>,<threshold>");
  fails([] { detail::decode_compression("2bit,x"); }, "\"x\"");
  fails([] { detail::decode_compression("2bit,0.5,push"); }, "\"push\"");
}

TEST_CASE("fp16 converts like element.hpp's half conversions, every half and a float sweep",
          "[compression]") {
  std::vector<uint8_t> all(2 * 65536);
  for (uint32_t h = 0; h < 65536; ++h)
    std::memcpy(&all[2 * h], &h, 2);
  auto back = run_decompress(codec::fp16, all, 65536, 1.0f);
  for (uint32_t h = 0; h < 65536; ++h) {
    float want = detail::half_to_float(static_cast<uint16_t>(h));
    uint32_t a, b;
    std::memcpy(&a, &back[h], 4);
    std::memcpy(&b, &want, 4);
    INFO("half " << h);
    REQUIRE((a == b || (std::isnan(back[h]) && std::isnan(want))));
  }
  // Every float bit pattern in steps (crossing every exponent, subnormal
  // halves, ties and the overflow edge), and the halves' midpoints.
  std::vector<float> sweep;
  for (uint64_t u = 0; u <= 0xffffffffu; u += 4093) {
    float f;
    auto bits = static_cast<uint32_t>(u);
    std::memcpy(&f, &bits, 4);
    sweep.push_back(f);
  }
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    float lo = detail::half_to_float(static_cast<uint16_t>(h));
    float hi = detail::half_to_float(static_cast<uint16_t>(h + 1));
    sweep.push_back((lo + hi) / 2);  // a tie: rounds to the even one
    sweep.push_back(-(lo + hi) / 2);
  }
  std::vector<float> r(sweep.size(), 0.0f);
  auto packed = run_compress(codec::fp16, sweep, r, 1.0f);
  for (size_t i = 0; i < sweep.size(); ++i) {
    uint16_t got;
    std::memcpy(&got, &packed[2 * i], 2);
    INFO("float " << sweep[i]);
    REQUIRE(got == detail::float_to_half(sweep[i]));
  }
}
