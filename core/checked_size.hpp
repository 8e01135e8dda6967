#pragma once
// Sizes computed from values that may come from outside the process (a
// caller's shape, a message, a file): every product and sum is checked, so
// a shape such as {2^62 + 1} of f32 is refused instead of wrapping to a tiny
// buffer that later code indexes as if it were huge. The one place such
// sizes are computed: the public API, the deserializers and the shard use it.
#include <cstdint>
#include <string>
#include <string_view>

#include "kvs/ndarray.hpp"

namespace kvs::detail {

// The most bytes one array may hold: what a pointer difference can express
// (std::ptrdiff_t), so offsets into it never overflow.
constexpr uint64_t max_array_bytes = uint64_t{1} << 62;

// Elements of `s`; throws invalid_argument naming `what` and the shape when
// a dimension is negative or the product overflows max_array_bytes.
uint64_t checked_element_count(const kvs::shape& s, std::string_view what = "shape");
// Bytes of `elements` elements of `t`; throws invalid_argument naming `what`
// when that exceeds max_array_bytes.
uint64_t checked_byte_count(uint64_t elements, kvs::dtype t, std::string_view what = "array");
// The same for an array of shape `s` with `elements` elements, naming it "an
// array of shape ..." (built only when it throws: arrays are made per key).
uint64_t checked_array_bytes(const kvs::shape& s, uint64_t elements, kvs::dtype t);
// Whether `offset + count` stays within `size` (without overflowing).
inline bool range_within(uint64_t offset, uint64_t count, uint64_t size) {
  return offset <= size && count <= size - offset;
}

}  // namespace kvs::detail
