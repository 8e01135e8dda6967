// The dispatch window (max_inflight_bytes) counts every array an operation
// moves (actors/worker_route.cpp, op_bytes): each device's input of a push
// (of a row_sparse one, its rows), each output of a pull, both for a
// pushpull. An
// operation counted short lets others out beside it that the window should
// hold back: here a pull of another key, which must wait for the push's
// (slow) update when the push alone fills the window.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>

#include "../test_config.hpp"

using namespace kvs;

namespace {

constexpr int64_t rows = 32, cols = 4;  // key 1: 512 bytes of float32, 16 a row

ndarray rows_on(int device, int64_t first, int64_t n, double v) {
  std::vector<int64_t> ids;
  for (int64_t r = first; r < first + n; ++r)
    ids.push_back(r);
  auto values = ndarray::full({n, cols}, v, dtype::f32, cpu(device));
  return ndarray::row_sparse({rows, cols}, ids, values);
}

}  // namespace

TEST_CASE("the dispatch window counts every input of a push from several devices, every "
          "output of a pull, and both of a pushpull: what does not fit waits",
          "[worker][window][sparse]") {
  // Each case's operation is counted at most 512 bytes when only its first
  // array counts (which leaves room for key 2's 8-byte pull in a 600-byte
  // window), 672 or more when every array does (which does not).
  auto which = GENERATE(as<std::string>{}, "row_sparse push from 2 devices",
                        "dense push from 2 devices", "pushpull", "pull into 2 outputs");
  INFO(which);
  auto cfg = test_config();
  // A push of key 1 (512 bytes) and its pull into 2 outputs behind it: 1024
  // bytes counted short (room for key 2's pull), 1536 in all (none).
  bool two_outputs = which == "pull into 2 outputs";
  cfg.max_inflight_bytes = two_outputs ? 1100 : 600;
  auto kv = create("local", cfg);
  kv->init(1, ndarray::zeros({rows, cols}));
  kv->init(2, ndarray::full({2}, 7.0));
  // key 1's update waits for key 2's pull to finish, 2 s at most: a pull
  // that got out beside the push ends it early.
  auto pulled = std::make_shared<std::promise<void>>();
  auto pulled_seen = pulled->get_future().share();
  auto pull_passed_push = std::make_shared<bool>(false);
  kv->set_updater([pulled_seen, pull_passed_push](const key& k, const ndarray& grad,
                                                  ndarray& stored) {
    if (k == key(1))
      *pull_passed_push =
          pulled_seen.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
    auto g = grad.to_vector<float>();
    auto* w = stored.data<float>();
    for (size_t i = 0; i < g.size(); ++i)
      w[i] += g[i];
  });
  auto out = ndarray::zeros({rows, cols}), out2 = ndarray::zeros({rows, cols});
  if (which == "row_sparse push from 2 devices")  // 10 rows (160 bytes), then 32 (512)
    kv->push(1, {rows_on(0, 0, 10, 1.0), rows_on(1, 0, 32, 2.0)});
  else if (which == "dense push from 2 devices")  // 512 bytes each
    kv->push(1, {ndarray::full({rows, cols}, 1.0, dtype::f32, cpu(0)),
                 ndarray::full({rows, cols}, 2.0, dtype::f32, cpu(1))});
  else if (two_outputs)  // the pull waits at the shard for the push's update
    kv->push(1, ndarray::full({rows, cols}, 3.0));
  else
    kv->pushpull(1, ndarray::full({rows, cols}, 3.0), out);
  if (two_outputs)
    kv->pull(1, {out, out2});
  auto y = ndarray::zeros({2});
  kv->pull(2, y);
  y.wait_to_read();
  pulled->set_value();
  kv->wait_all();
  REQUIRE(y.to_vector<float>() == std::vector<float>{7.0f, 7.0f});
  CHECK_FALSE(*pull_passed_push);  // it waited for the push: the window was full
  auto table = ndarray::zeros({rows, cols});
  kv->pull(1, table);
  auto t = table.to_vector<float>();
  if (which == "pushpull" || two_outputs) {
    REQUIRE(t == std::vector<float>(rows * cols, 3.0f));
    REQUIRE(out.to_vector<float>() == t);
    if (two_outputs)
      REQUIRE(out2.to_vector<float>() == t);
  } else if (which == "dense push from 2 devices") {
    REQUIRE(t == std::vector<float>(rows * cols, 3.0f));
  } else {
    std::vector<float> want(rows * cols, 2.0f);  // rows 0-9 pushed by both devices
    std::fill(want.begin(), want.begin() + 10 * cols, 3.0f);
    REQUIRE(t == want);
  }
}
