#pragma once
// The 8x8 handwritten digits (examples/data/README.md): 1797 rows of 64
// pixels (0..16) and a label, read from the gzip'd CSV with zlib.
#include <zlib.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlp {

struct dataset {
  std::vector<float> x;  // rows of 64 pixels scaled to 0..1
  std::vector<int> y;
  size_t rows() const { return y.size(); }
  const float* row(size_t i) const { return x.data() + i * 64; }
};

inline dataset load_digits(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f)
    throw std::runtime_error("cannot open " + path + " (pass --data PATH)");
  dataset d;
  char line[1024];
  while (gzgets(f, line, sizeof(line))) {
    std::vector<float> v;
    for (char* p = line; *p && *p != '\n';) {
      char* end = nullptr;
      v.push_back(std::strtof(p, &end));
      if (end == p)
        break;
      p = *end == ',' ? end + 1 : end;
    }
    if (v.size() != 65) {
      gzclose(f);
      throw std::runtime_error(path + ": a row with " + std::to_string(v.size()) +
                               " values, expected 65");
    }
    for (int i = 0; i < 64; ++i)
      d.x.push_back(v[static_cast<size_t>(i)] / 16.0f);
    d.y.push_back(static_cast<int>(v[64]));
  }
  gzclose(f);
  return d;
}

// A fixed shuffle (same on every worker), then the first `train` rows train.
inline void split(const dataset& all, size_t train, dataset& tr, dataset& te) {
  std::vector<size_t> order(all.rows());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::mt19937 rng(42);
  for (size_t i = order.size() - 1; i > 0; --i)  // Fisher-Yates: the same everywhere
    std::swap(order[i], order[rng() % (i + 1)]);
  for (size_t n = 0; n < order.size(); ++n) {
    auto& to = n < train ? tr : te;
    to.x.insert(to.x.end(), all.row(order[n]), all.row(order[n]) + 64);
    to.y.push_back(all.y[order[n]]);
  }
}

}  // namespace mlp
