#pragma once
// The AVX2/F16C loops of the quantizers (core/compression_avx2.cpp), for
// core/compression.cpp only. The library is built without -march, so these
// are compiled for AVX2 and F16C alone and run only where the CPU has them
// (available(), checked once at run time). Each handles a prefix of
// whole groups of 8 values and returns how many values it did; the portable
// loops do the rest, byte-aligned in the packed buffer. Results are the
// portable loops' bit for bit (tests/core/compression_simd_test.cpp compares).
#include <cstddef>
#include <cstdint>

namespace kvs::detail::avx2 {

// Whether this build has the loops and this CPU (and OS) can run them.
bool available();

// The residual is read from r and written to r_out (the same array, or not).
size_t compress_2bit(const float* g, const float* r, float* r_out, size_t n, float t, uint8_t* out);
size_t compress_1bit(const float* g, const float* r, float* r_out, size_t n, float t, uint8_t* out);
size_t compress_fp16(const float* g, size_t n, uint8_t* out);
// `add`: out += the values, else out = the values.
size_t decompress_2bit(const uint8_t* in, size_t n, float t, float* out, bool add);
size_t decompress_1bit(const uint8_t* in, size_t n, float* out, bool add);
size_t decompress_fp16(const uint8_t* in, size_t n, float* out, bool add);

}  // namespace kvs::detail::avx2
