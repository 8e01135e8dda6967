// optimizer::serialize / deserialize: the configuration as a cereal binary
// archive (what MXNet pickles to send to servers).
#include <sstream>

#include <cereal/archives/binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>

#include "kvs/error.hpp"
#include "kvs/optimizer.hpp"

namespace kvs {

namespace {
constexpr uint32_t archive_version = 1;
}

std::string optimizer::serialize() const {
  std::ostringstream out;
  {
    cereal::BinaryOutputArchive ar(out);
    ar(archive_version, name_, numbers_, options_);
  }
  return out.str();
}

std::shared_ptr<optimizer> optimizer::deserialize(const std::string& bytes) {
  uint32_t version = 0;
  std::string name;
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> options;
  try {
    std::istringstream in(bytes);
    cereal::BinaryInputArchive ar(in);
    ar(version, name, numbers, options);
  } catch (const std::exception& e) {
    throw error(errc::corrupt_file, std::string("optimizer configuration is truncated: ") + e.what());
  }
  if (version != archive_version)
    throw error(errc::corrupt_file, "optimizer configuration has version " +
                                        std::to_string(version) + ", expected " +
                                        std::to_string(archive_version));
  try {
    return create_optimizer(name, numbers, options);  // checks it as a user's call would
  } catch (const error& e) {
    throw error(errc::corrupt_file, std::string("optimizer configuration is invalid: ") + e.what());
  }
}

}  // namespace kvs
