// A fuzz target as a plain program: feeds each file named on the command
// line (or each file of a folder named there) to LLVMFuzzerTestOneInput
// once. The normal build runs the seed corpus through every target this
// way (CTest fuzz_replay_*); a crash, a sanitizer report or an abort fails it.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.hpp"

namespace {
int replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  int inputs = 0, failures = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(p)) {
      for (auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file())
          files.push_back(e.path());
    } else {
      files.push_back(p);
    }
    for (auto& f : files) {
      failures += replay(f);
      ++inputs;
    }
  }
  std::printf("replayed %d inputs\n", inputs);
  return failures > 0 || inputs == 0 ? 1 : 0;
}
