#pragma once
// Errors of the public API: one code enum, one exception type.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace kvs {

enum class errc : uint8_t {
  key_not_initialized, duplicate_init, shape_mismatch, dtype_mismatch,
  mixed_key_types, invalid_type, invalid_argument, unsupported,
  invalid_config, io_error, corrupt_file, no_device, cuda_error, nccl_error,
  peer_down, timeout,
};

// The code's name as written in the enum, e.g. "shape_mismatch".
const char* to_string(errc code);

class error : public std::runtime_error {
public:
  error(errc code, const std::string& message);
  errc code() const;

private:
  errc code_;
};

}  // namespace kvs
