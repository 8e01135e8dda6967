// A step of an embedding table through the local store: push a row_sparse
// gradient, then row_sparse_pull the same rows. The worker sends the pull
// in the same message as the push when the caller's pull is already
// waiting in its mailbox (actors/worker_route.cpp, holds_back; a pull of a
// few rows takes only their bytes of the dispatch window), so the shard's
// update writes the pulled rows in its own pass ("update+pull" on the
// timeline). Every pulled row checked exactly against a replay.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "../test_config.hpp"

using namespace kvs;

namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// `steps` steps through a fresh store, each pulled value checked; returns
// how many updates wrote the pulled rows themselves.
size_t run_steps(int steps) {
  const int64_t rows = 100000, cols = 8;
  std::string path = "rows_one_pass_test.json";
  std::remove(path.c_str());
  {
    auto cfg = test_config();
    cfg.timeline = path;
    cfg.max_inflight_bytes = 1 << 20;  // the table (3.2 MB) is above it; a step's rows are not
    auto kv = create("local", cfg);
    kv->init(0, ndarray::row_sparse({rows, cols}, {}, ndarray::zeros({0, cols})));
    kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.5}}));
    std::vector<float> want(static_cast<size_t>(rows), 0.0f);  // each row's value (all columns)
    auto out = ndarray::row_sparse({rows, cols}, {}, ndarray::zeros({0, cols}));
    for (int s = 0; s < steps; ++s) {
      std::vector<int64_t> ids;
      for (int64_t r = s % 7; r < rows; r += 17 + s % 5)
        ids.push_back(r);
      auto n = static_cast<int64_t>(ids.size());
      kv->push(0, ndarray::row_sparse({rows, cols}, ids, ndarray::full({n, cols}, 1.0)));
      kv->row_sparse_pull(0, out, ndarray::from_vector(ids, {n}));
      for (auto r : ids)
        want[static_cast<size_t>(r)] -= 0.5f;
      auto got = out.to_vector<float>();  // dense: every row of the table
      for (int64_t r = 0; r < rows; ++r) {
        bool asked = std::binary_search(ids.begin(), ids.end(), r);
        auto expect = asked ? want[static_cast<size_t>(r)] : 0.0f;
        for (int64_t c = 0; c < cols; ++c)
          if (got[static_cast<size_t>(r * cols + c)] != expect)
            FAIL("step " << s << ", row " << r << ": " << got[static_cast<size_t>(r * cols + c)]
                         << ", expected " << expect);
      }
    }
  }  // the timeline is written when the store ends
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  auto fused = count_of(text.str(), "\"update+pull\"");
  auto apart = count_of(text.str(), "\"update\"");
  INFO(fused << " updates wrote the pulled rows, " << apart << " did not");
  REQUIRE(fused + apart == static_cast<size_t>(steps));
  return fused;
}

}  // namespace

TEST_CASE("row_sparse pulls right behind pushes of the same rows get every updated row, and "
          "reach the shard with the push to be written in the update's pass",
          "[sparse][store][optimizer]") {
  // The worker holds a push back only while the pull is already in its
  // mailbox: often, not always (the caller's thread may be the slower), so
  // a few runs may be needed before one pull rides with its push.
  size_t fused = 0;
  for (int attempt = 0; attempt < 5 && fused == 0; ++attempt)
    fused = run_steps(60);
  REQUIRE(fused > 0);
}
