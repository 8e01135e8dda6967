#pragma once
// Reads what cereal's binary archive wrote (numbers raw, a size tag of u64
// before strings, vectors and maps) from bytes of a file or a message, and
// checks each size against the bytes that are left BEFORE it allocates:
// cereal's own loaders resize a string or vector to whatever its size tag
// claims first. Writing stays with cereal; the layout is the same.
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "kvs/error.hpp"

namespace kvs::detail {

class byte_reader {
public:
  // `what` names the input in errors ("optimizer configuration", a file).
  byte_reader(const std::string& bytes, std::string what)
      : data_(bytes.data()), left_(bytes.size()), what_(std::move(what)) {}

  uint64_t remaining() const { return left_; }

  template <class T>
  T number() {
    static_assert(std::is_arithmetic<T>::value && !std::is_same<T, bool>::value);
    T v;
    raw(&v, sizeof(T));
    return v;
  }

  // A bool as cereal writes it: one byte, 0 or 1.
  bool flag() {
    auto b = number<uint8_t>();
    if (b > 1)
      fail("a flag byte is " + std::to_string(b) + ", not 0 or 1");
    return b == 1;
  }

  // A size tag for `each`-byte items (at least 1): refused when the items
  // cannot be in the bytes that are left.
  uint64_t count(uint64_t each, const char* of) {
    auto n = number<uint64_t>();
    if (n > left_ / each)
      fail(std::string("claims ") + std::to_string(n) + " " + of + " but holds only " +
           std::to_string(left_) + " more bytes");
    return n;
  }

  std::string text(const char* of) {
    auto n = count(1, of);
    std::string s(data_, n);
    skip(n);
    return s;
  }

  std::vector<int64_t> int64s(const char* of) {
    auto n = count(sizeof(int64_t), of);
    std::vector<int64_t> v(n);
    raw(v.data(), n * sizeof(int64_t));
    return v;
  }

  void raw(void* dst, uint64_t n) {
    need(n);
    if (n > 0)
      std::memcpy(dst, data_, n);
    skip(n);
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw kvs::error(errc::corrupt_file, what_ + " " + why);
  }

private:
  void need(uint64_t n) const {
    if (n > left_)
      fail("is truncated: " + std::to_string(n) + " bytes needed, " + std::to_string(left_) +
           " left");
  }
  void skip(uint64_t n) {
    data_ += n;
    left_ -= n;
  }

  const char* data_;
  uint64_t left_;
  std::string what_;
};

}  // namespace kvs::detail
