// A fuzz target as a plain program: feeds each file named on the command
// line (or each file of a folder named there) to LLVMFuzzerTestOneInput
// once. The normal build runs the seed corpus through every target this
// way (CTest fuzz_replay_*); a crash, a sanitizer report or an abort fails it.
// With `--mutate SECONDS` it then feeds random mutations of those inputs
// for that long (CTest fuzz_mutate_*): a short fuzz run in every build,
// CI's included, where libFuzzer (clang) is not there; it finds less than
// libFuzzer's coverage-guided search (tools/fuzz.sh), but it runs always.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.hpp"

namespace {
using bytes_t = std::vector<uint8_t>;

bool read_file(const std::filesystem::path& file, bytes_t& bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return false;
  }
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// A few random edits of the kinds that break decoders: bits flipped, bytes
// set to boundary values (sizes and counts at 0, max, sign bits), bytes
// inserted or erased, the tail cut, a chunk repeated.
bytes_t mutate(bytes_t b, std::mt19937_64& gen) {
  static const uint8_t boundary[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
  auto pick = [&](size_t n) { return static_cast<size_t>(gen() % n); };
  for (size_t edits = 1 + pick(8); edits > 0; --edits) {
    switch (pick(b.empty() ? 1 : 6)) {
      case 0: b.insert(b.begin() + static_cast<long>(pick(b.size() + 1)), static_cast<uint8_t>(gen())); break;
      case 1: b[pick(b.size())] ^= static_cast<uint8_t>(1u << pick(8)); break;
      case 2: b[pick(b.size())] = boundary[pick(sizeof boundary)]; break;
      case 3: b.erase(b.begin() + static_cast<long>(pick(b.size()))); break;
      case 4: b.resize(pick(b.size() + 1)); break;
      default: {
        size_t from = pick(b.size()), len = 1 + pick(std::min<size_t>(16, b.size() - from));
        bytes_t chunk(b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(from + len));
        b.insert(b.begin() + static_cast<long>(pick(b.size() + 1)), chunk.begin(), chunk.end());
      }
    }
  }
  return b;
}

void feed(const bytes_t& b) {
  LLVMFuzzerTestOneInput(b.data(), b.size());
}
}  // namespace

int main(int argc, char** argv) {
  int inputs = 0, failures = 0;
  double mutate_seconds = 0;
  std::vector<bytes_t> corpus;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--mutate" && i + 1 < argc) {
      mutate_seconds = std::atof(argv[++i]);
      continue;
    }
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
      bytes_t b;
      if (!read_file(f, b)) {
        ++failures;
        continue;
      }
      feed(b);
      corpus.push_back(std::move(b));
      ++inputs;
    }
  }
  std::printf("replayed %d inputs\n", inputs);
  if (mutate_seconds > 0 && !corpus.empty()) {
    // seeded from the clock, printed: a failing run can be repeated
    auto seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    if (const char* s = std::getenv("KVS_FUZZ_SEED"))
      seed = std::strtoull(s, nullptr, 10);
    std::printf("mutating for %.1f s, KVS_FUZZ_SEED=%llu\n", mutate_seconds,
                static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    std::mt19937_64 gen(seed);
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(mutate_seconds);
    uint64_t runs = 0;
    while (std::chrono::steady_clock::now() < end)
      for (int k = 0; k < 64; ++k, ++runs)
        feed(mutate(corpus[gen() % corpus.size()], gen));
    std::printf("fed %llu mutated inputs\n", static_cast<unsigned long long>(runs));
  }
  return failures > 0 || inputs == 0 ? 1 : 0;
}
