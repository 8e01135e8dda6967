#pragma once
// Keys: an integer or a string; one store uses one kind.
#include <cstdint>
#include <string>
#include <type_traits>

namespace kvs {

namespace detail {
template <class I>
struct is_key_integer
    : std::integral_constant<
          bool, std::is_integral<I>::value && !std::is_same<I, bool>::value &&
                    !std::is_same<I, char>::value && !std::is_same<I, signed char>::value &&
                    !std::is_same<I, unsigned char>::value && !std::is_same<I, wchar_t>::value &&
                    !std::is_same<I, char16_t>::value && !std::is_same<I, char32_t>::value> {};
}  // namespace detail

class key {
public:
  key() = default;  // the integer key 0
  template <class I, class = std::enable_if_t<detail::is_key_integer<I>::value>>
  key(I value) : int_(static_cast<int64_t>(value)) {}
  key(std::string value);
  key(const char* value);

  bool is_int() const { return !is_string_; }
  bool is_string() const { return is_string_; }
  int64_t as_int() const;               // throws invalid_argument for strings
  const std::string& as_string() const; // throws invalid_argument for ints
  std::string to_string() const;        // for messages: 3 or "weight"
  friend bool operator==(const key& a, const key& b);
  friend bool operator!=(const key& a, const key& b) { return !(a == b); }

  // A hash that is stable across builds and machines (FNV-1a 64 for strings).
  uint64_t stable_hash() const;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, key& x) {
    return f(x.is_string_, x.int_, x.str_);
  }

private:
  int64_t int_ = 0;
  std::string str_;
  bool is_string_ = false;
};

struct key_hash {
  size_t operator()(const key& k) const { return static_cast<size_t>(k.stable_hash()); }
};

}  // namespace kvs
