#include "kvs/error.hpp"

namespace kvs {

const char* to_string(errc code) {
  switch (code) {
    case errc::key_not_initialized: return "key_not_initialized";
    case errc::duplicate_init: return "duplicate_init";
    case errc::shape_mismatch: return "shape_mismatch";
    case errc::dtype_mismatch: return "dtype_mismatch";
    case errc::mixed_key_types: return "mixed_key_types";
    case errc::invalid_type: return "invalid_type";
    case errc::invalid_argument: return "invalid_argument";
    case errc::unsupported: return "unsupported";
    case errc::invalid_config: return "invalid_config";
    case errc::io_error: return "io_error";
    case errc::corrupt_file: return "corrupt_file";
    case errc::no_device: return "no_device";
    case errc::cuda_error: return "cuda_error";
    case errc::nccl_error: return "nccl_error";
    case errc::peer_down: return "peer_down";
    case errc::timeout: return "timeout";
  }
  return "unknown";
}

error::error(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}

errc error::code() const { return code_; }

}  // namespace kvs
