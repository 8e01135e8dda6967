#pragma once
// Gradient compression, a plain module (no actors): the codecs, their
// settings, and the quantizers used by the worker's compression stage and the
// shard's matching step, in every store. MXNet's rules, bit-exact
// (src/kvstore/gradient_compression*, docs/compression.md):
//   2bit: a = g + r; a >= t: code 0b11, send +t, r = a - t;
//                    a <= -t: code 0b10, send -t, r = a + t; else 0b00, send 0, r = a.
//         16 values per 32-bit word, 4 per byte, element 0 in the top bits of byte 0.
//   1bit: a = g + r; a > t: bit 1, send +1, r = a - 1; else bit 0, send -1, r = a + 1.
//         32 values per word, element 0 in the top bit of byte 0.
//   fp16: each value as an IEEE half (round to nearest even); no residual.
// Unused bits of a last partial word are zero.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kvs/kvstore.hpp"

namespace kvs::detail {

enum class codec : uint8_t { none = 0, two_bit = 1, one_bit = 2, fp16 = 3 };

struct compression_setting {
  codec type = codec::none;
  float threshold = 0.5f;
  bool pull = false;  // the store also compresses what it sends back (no optimizer there)
};

// Checks a user's setting: a known type, a threshold > 0 (2bit, 1bit).
// Throws kvs::error(invalid_argument) naming what was wrong.
compression_setting parse_compression(const compression& c);
// The body of server command 4, as MXNet writes it: "<type>,<threshold>",
// plus ",pull" when pulls are compressed too; and back (throws on a bad body).
std::string encode_compression(const compression_setting& s);
compression_setting decode_compression(const std::string& body);
const char* codec_name(codec c);

// Bytes of `n` values packed with `c` (whole 32-bit words for 2bit and 1bit).
size_t packed_bytes(codec c, size_t n);

// Which loops run: the fastest this CPU has (AVX2 and F16C where present,
// checked once at run time; core/compression_avx2.hpp), or the portable
// ones. Both give the same bytes and floats; tests compare them.
enum class quantizer_loops { fastest, portable };
// Whether `fastest` runs the AVX2/F16C loops on this machine.
bool simd_quantizers();

// Packs `n` values `g` into `out` (packed_bytes(c, n) bytes), updating the
// residual `r` (n floats; unused by fp16). `c` is not none.
void compress(codec c, const float* g, float* r, size_t n, float threshold, uint8_t* out,
              quantizer_loops loops = quantizer_loops::fastest);
// The same, reading the residual from `r` and writing the next one to
// `r_out` (n floats; `r` itself, or an array that does not overlap it):
// the shard packs a sum once for every worker whose residual is `r`, into
// a new residual they then share (actors/key_compression.cpp).
void compress(codec c, const float* g, const float* r, float* r_out, size_t n, float threshold,
              uint8_t* out, quantizer_loops loops = quantizer_loops::fastest);
// The values a packed buffer stands for, into `out` (n floats).
void decompress(codec c, const uint8_t* in, size_t n, float threshold, float* out,
                quantizer_loops loops = quantizer_loops::fastest);
// out += those values, in one pass: a packed push summed as it is unpacked
// (the same floats as unpacking, then adding).
void decompress_add(codec c, const uint8_t* in, size_t n, float threshold, float* out,
                    quantizer_loops loops = quantizer_loops::fastest);
// out = the values of packed buffers in[0] + in[1] + ... (`add`: out + in[0]
// + ...), summed left to right: the floats of unpacking (or adding) in[0],
// then adding each other, but in one pass over out, a block at a time (the
// shard sums a round's packed pushes when the round completes).
void decompress_sum(codec c, const std::vector<const uint8_t*>& in, size_t n, float threshold,
                    float* out, bool add, quantizer_loops loops = quantizer_loops::fastest);
// decompress_sum into `sum`, then the sum packed as compress(c, sum, r,
// r_out, n, threshold, packed) packs it, in the same pass: each block packed
// while it is in cache (the shard packs a completed round's sum for the
// pulls of compressed pulls). `r` and `r_out` are unused by fp16.
void decompress_sum_compress(codec c, const std::vector<const uint8_t*>& in, size_t n,
                             float threshold, float* sum, bool add, const float* r, float* r_out,
                             uint8_t* packed, quantizer_loops loops = quantizer_loops::fastest);

}  // namespace kvs::detail
