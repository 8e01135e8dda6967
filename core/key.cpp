#include "kvs/key.hpp"

#include "kvs/error.hpp"

namespace kvs {

key::key(std::string value) : str_(std::move(value)), is_string_(true) {}
key::key(const char* value) : key(std::string(value ? value : "")) {}

int64_t key::as_int() const {
  if (is_string_)
    throw error(errc::invalid_argument, "as_int() on the string key " + to_string());
  return int_;
}

const std::string& key::as_string() const {
  if (!is_string_)
    throw error(errc::invalid_argument, "as_string() on the integer key " + to_string());
  return str_;
}

std::string key::to_string() const { return is_string_ ? "\"" + str_ + "\"" : std::to_string(int_); }

bool operator==(const key& a, const key& b) {
  return a.is_string_ == b.is_string_ && (a.is_string_ ? a.str_ == b.str_ : a.int_ == b.int_);
}

uint64_t key::stable_hash() const {
  if (!is_string_)
    return static_cast<uint64_t>(int_);
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : str_) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace kvs
