// A pull of rows sent right behind a push of rows of the same key part, by
// the same worker, in one message rides with the push (actors/key_shard.cpp,
// riders): the push's round holds it, and an update the shard runs itself
// writes the pulled rows in its own pass ("update+pull" on the timeline).
// What every pull sees is what it would see sent alone behind the push.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/key_shard.hpp"
#include "actors/optimizer_updater.hpp"
#include "core/telemetry.hpp"
#include "shard_driver.hpp"

using namespace kvs;

namespace {

constexpr int64_t rows = 6, cols = 3;

part_request push_rows(std::vector<int64_t> ids, double v) {
  auto n = static_cast<int64_t>(ids.size());
  auto r = request(part_op::push, 1, {array_view::whole(ndarray::full({n, cols}, v))});
  r.sparse = true;
  r.rows = std::move(ids);
  return r;
}

part_request pull_rows(std::vector<int64_t> ids, const ndarray& out) {
  auto r = request(part_op::pull_rows, 1, {}, {array_view::whole(out)});
  r.rows = std::move(ids);
  return r;
}

ndarray rows_buffer(size_t n) { return ndarray::full({static_cast<int64_t>(n), cols}, -9.0); }

// A shard with key 1 (6 x 3, from 0.5 up by 0.25) and lazy adam, its
// timeline written to `path` when asked.
struct adam_shard {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  std::shared_ptr<detail::telemetry> timeline;
  shard_actor shard;
  updater_actor updater;
  caf::scoped_actor self{sys};

  explicit adam_shard(const std::string& path)
      : timeline(std::make_shared<detail::telemetry>(path, "shard")) {
    shard_options opts;
    opts.telemetry = timeline;
    shard = spawn_key_shard(sys, reducers, opts);
    auto adam = create_optimizer("adam", {{"learning_rate", 0.1}, {"lazy_update", 1}});
    updater = spawn_optimizer_updater(sys, adam);
    self->request(shard, std::chrono::seconds(10), updater_atom::value,
                  optimizer_setting(updater, adam))
        .receive([](ok_atom) {}, [](caf::error&) { FAIL("the shard refused the updater"); });
    std::vector<float> w0;
    for (int64_t i = 0; i < rows * cols; ++i)
      w0.push_back(0.5f + 0.25f * static_cast<float>(i));
    auto init = request(part_op::init, 1, {array_view::whole(ndarray::from_vector<float>(w0, {rows, cols}))});
    REQUIRE(ask(self, shard, part_batch{{init}}).results.at(0).ok);
  }
  ~adam_shard() {
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(updater, caf::exit_reason::user_shutdown);
    reducers.stop();
  }
  batch_reply send(std::vector<part_request> items) {
    auto r = ask(self, shard, part_batch{std::move(items)});
    for (auto& x : r.results) {
      INFO(x.message);
      REQUIRE(x.ok);
    }
    return r;
  }
  std::vector<float> table() {
    auto out = ndarray::zeros({rows, cols});
    send({request(part_op::pull, 1, {}, {array_view::whole(out)})});
    return out.to_vector<float>();
  }
};

// How many spans of the timeline at `path` are named `stage`.
size_t spans(const std::string& path, const std::string& stage) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto s = text.str();
  size_t n = 0;
  for (auto at = s.find("\"" + stage + "\""); at != std::string::npos;
       at = s.find("\"" + stage + "\"", at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("pulls of rows sent behind pushes of rows in one message see each update, as sent "
          "one by one, and the update writes the pulled rows itself",
          "[server][sparse][optimizer]") {
  std::string path_one = "riders_test_one.json", path_apart = "riders_test_apart.json";
  {
    adam_shard one(path_one), apart(path_apart);
    // The same work: as pairs in one message, and as messages one by one.
    // Rows {0, 2, 5}; then a pull of other rows ({1, 2}: not the pushed ones,
    // it rides but is gathered); then rows {2, 3} again.
    std::vector<ndarray> got_one{rows_buffer(3), rows_buffer(2), rows_buffer(2)};
    std::vector<ndarray> got_apart{rows_buffer(3), rows_buffer(2), rows_buffer(2)};
    auto work = [](std::vector<ndarray>& outs) {
      return std::vector<part_request>{push_rows({0, 2, 5}, 0.75), pull_rows({0, 2, 5}, outs[0]),
                                       push_rows({0, 1}, -1.25), pull_rows({1, 2}, outs[1]),
                                       push_rows({2, 3}, 2.5), pull_rows({2, 3}, outs[2])};
    };
    one.send(work(got_one));
    for (auto& item : work(got_apart))
      apart.send({item});
    for (size_t i = 0; i < got_one.size(); ++i)
      REQUIRE(got_one[i].to_vector<float>() == got_apart[i].to_vector<float>());
    auto table = apart.table();
    REQUIRE(one.table() == table);
    // The first pull saw the first update only.
    auto first = got_one[0].to_vector<float>();
    REQUIRE(first != std::vector<float>{0.5f, 0.75f, 1.0f, 2.0f, 2.25f, 2.5f, 4.25f, 4.5f, 4.75f});
    REQUIRE(std::vector<float>(table.begin() + 15, table.end()) ==
            std::vector<float>(first.begin() + 6, first.end()));  // row 5: pushed once
    // Row 4 was never pushed: as initialized.
    REQUIRE(std::vector<float>(table.begin() + 12, table.begin() + 15) ==
            std::vector<float>{3.5f, 3.75f, 4.0f});
  }  // the timelines are written when the shards end
  // Pushes 1 and 3 wrote their pulls' rows; push 2's pull asked for others.
  CHECK(spans(path_one, "update+pull") == 2);
  CHECK(spans(path_one, "update") == 1);
  CHECK(spans(path_apart, "update+pull") == 0);
  CHECK(spans(path_apart, "update") == 3);
  std::remove(path_one.c_str());
  std::remove(path_apart.c_str());
}

TEST_CASE("a pull of rows behind a push that is refused is still answered, with the rows as "
          "they were",
          "[server][sparse]") {
  adam_shard s("");  // no timeline
  auto before = s.table();
  auto out = rows_buffer(2);
  auto bad = push_rows({1, 9}, 1.0);  // row 9 of 6
  auto r = ask(s.self, s.shard, part_batch{{bad, pull_rows({0, 1}, out)}});
  REQUIRE_FALSE(r.results.at(0).ok);
  INFO(r.results.at(1).message);
  REQUIRE(r.results.at(1).ok);
  REQUIRE(out.to_vector<float>() == std::vector<float>(before.begin(), before.begin() + 6));
  REQUIRE(s.table() == before);
}
