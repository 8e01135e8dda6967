#include "serialization/state_file.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "serialization/cereal_ndarray.hpp"

namespace kvs::detail {

namespace {

constexpr char magic[8] = {'K', 'V', 'S', 'O', 'S', 'T', 'A', 'T'};
constexpr uint32_t version = 1;
constexpr size_t header_size = 8 + 4 + 8 + 8;

uint64_t fnv1a(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <class T>
T get(const std::string& in, size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof(T));
  return v;
}

}  // namespace

void write_state_file(const std::string& path, const state_file& content) {
  std::ostringstream body;
  {
    cereal::BinaryOutputArchive ar(body);
    ar(content.has_optimizer, content.optimizer_bytes);
    uint64_t n = content.keys.size();
    ar(n);
    for (auto& ks : content.keys) {
      save_key(ar, ks.key);
      uint64_t arrays = ks.arrays.size();
      ar(ks.part, ks.count, arrays);
      for (auto& a : ks.arrays)
        save_array(ar, a);
    }
  }
  std::string payload = body.str();
  std::string file(magic, sizeof(magic));
  put(file, version);
  put(file, static_cast<uint64_t>(payload.size()));
  put(file, fnv1a(payload));
  file += payload;
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw error(errc::io_error, "save_optimizer_states: cannot open \"" + tmp + "\" for writing");
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
    out.flush();
    if (!out)
      throw error(errc::io_error, "save_optimizer_states: writing \"" + tmp + "\" failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw error(errc::io_error, "save_optimizer_states: cannot move \"" + tmp + "\" to \"" +
                                    path + "\"");
  }
}

state_file read_state_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw error(errc::io_error, "load_optimizer_states: cannot open \"" + path + "\"");
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_state_file(file, path);
}

state_file parse_state_file(const std::string& file, const std::string& path) {
  auto corrupt = [&](const std::string& why) {
    return error(errc::corrupt_file, "load_optimizer_states: \"" + path + "\" " + why);
  };
  if (file.size() < header_size || std::memcmp(file.data(), magic, sizeof(magic)) != 0)
    throw corrupt("is not a kvs optimizer-state file (bad magic)");
  auto v = get<uint32_t>(file, 8);
  if (v != version)
    throw corrupt("has format version " + std::to_string(v) + "; this build reads version " +
                  std::to_string(version));
  auto size = get<uint64_t>(file, 12);
  if (size != file.size() - header_size)
    throw corrupt("is truncated or padded: the header says " + std::to_string(size) +
                  " payload bytes, the file has " + std::to_string(file.size() - header_size));
  std::string payload = file.substr(header_size);
  if (get<uint64_t>(file, 20) != fnv1a(payload))
    throw corrupt("is corrupt: its checksum does not match");
  return parse_state_payload(payload, "load_optimizer_states: \"" + path + "\"");
}

namespace {

state_file parse_payload(const std::string& payload, const std::string& name) {
  state_file out;
  byte_reader in(payload, name + " has bad contents:");
  out.has_optimizer = in.flag();
  out.optimizer_bytes = in.text("optimizer configuration bytes");
  // Each key takes at least 17 bytes (kind, value, part, count, arrays).
  auto n = in.count(17, "keys");
  for (uint64_t i = 0; i < n; ++i) {
    key_state ks;
    ks.key = load_key(in);
    ks.part = in.number<uint32_t>();
    ks.count = in.number<uint64_t>();
    auto arrays = in.count(17, "state arrays");  // dtype, shape tag, byte count
    for (uint64_t j = 0; j < arrays; ++j)
      ks.arrays.push_back(load_array(in));
    out.keys.push_back(std::move(ks));
  }
  if (in.remaining() != 0)
    in.fail("has " + std::to_string(in.remaining()) + " bytes after its last key");
  return out;
}

}  // namespace

state_file parse_state_payload(const std::string& payload, const std::string& name) {
  try {
    return parse_payload(payload, name);
  } catch (const kvs::error& e) {
    if (e.code() == errc::corrupt_file)
      throw;
    // A shape or key the API refuses (an overflowing shape, say): the file is bad.
    throw error(errc::corrupt_file, name + " has bad contents: " + e.what());
  }
}

}  // namespace kvs::detail
