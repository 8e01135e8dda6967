// optimizer::serialize / deserialize: the configuration as a cereal binary
// archive (what MXNet pickles to send to servers); read back with
// byte_reader, which checks every size before allocating.
#include <sstream>

#include <cereal/archives/binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>

#include "kvs/error.hpp"
#include "kvs/optimizer.hpp"
#include "serialization/byte_reader.hpp"

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
  // Read with byte_reader (cereal's layout; sizes checked before allocating).
  detail::byte_reader in(bytes, "optimizer configuration");
  auto version = in.number<uint32_t>();
  if (version != archive_version)
    throw error(errc::corrupt_file, "optimizer configuration has version " +
                                        std::to_string(version) + ", expected " +
                                        std::to_string(archive_version));
  std::string name = in.text("name characters");
  std::map<std::string, double> numbers;
  for (auto n = in.count(16, "numbers"); n > 0; --n) {  // a name tag and a double each
    auto k = in.text("characters of a number's name");
    numbers[k] = in.number<double>();
  }
  std::map<std::string, std::string> options;
  for (auto n = in.count(16, "options"); n > 0; --n) {  // two size tags each
    auto k = in.text("characters of an option's name");
    options[k] = in.text("characters of an option's value");
  }
  if (in.remaining() != 0)
    in.fail("has " + std::to_string(in.remaining()) + " bytes after its options");
  try {
    return create_optimizer(name, numbers, options);  // checks it as a user's call would
  } catch (const error& e) {
    throw error(errc::corrupt_file, std::string("optimizer configuration is invalid: ") + e.what());
  }
}

}  // namespace kvs
