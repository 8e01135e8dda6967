// A pull of rows sent right behind a push of rows of the same key part, by
// the same worker, in one message rides with the push (actors/key_shard.cpp,
// riders): the push's round holds it, and an update the shard runs itself
// writes the pulled rows in its own pass ("update+pull" on the timeline).
// What every pull sees is what it would see sent alone behind the push.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "actors/function_updater.hpp"
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

std::shared_ptr<const optimizer> lazy_adam() {
  return create_optimizer("adam", {{"learning_rate", 0.1}, {"lazy_update", 1}});
}

// The updater a table_shard runs, made in its actor system.
using make_setting = std::function<updater_setting(caf::actor_system&)>;

updater_setting adam_setting(caf::actor_system& sys) {
  auto adam = lazy_adam();
  return optimizer_setting(spawn_optimizer_updater(sys, adam), adam);
}

// A shard with key 1 (6 x 3, from 0.5 up by 0.25) and an updater (lazy
// adam unless told), its timeline written to `path` when asked; with
// `workers`, rounds of that many workers' pushes (dist_sync).
struct adam_shard {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  std::shared_ptr<detail::telemetry> timeline;
  shard_actor shard;
  updater_actor updater;
  caf::scoped_actor self{sys};

  explicit adam_shard(const std::string& path, const make_setting& make = adam_setting,
                      int workers = 1)
      : timeline(std::make_shared<detail::telemetry>(path, "shard")) {
    shard_options opts;
    opts.telemetry = timeline;
    opts.num_workers = workers;
    shard = spawn_key_shard(sys, reducers, opts);
    auto setting = make(sys);
    updater = setting.actor;
    self->request(shard, std::chrono::seconds(10), updater_atom::value, std::move(setting))
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

namespace {

// An updater that fails: the built-in lazy adam given a setting that keeps
// no state arrays (adam needs 2): its update throws before it writes, in
// the shard's own pass (a small lazy update, actors/key_round.cpp).
updater_setting adam_without_state(caf::actor_system& sys) {
  auto s = adam_setting(sys);
  s.state_arrays = 0;
  return s;
}

// A user's updater that writes part of the weight, then throws (MXNet's
// updater changes stored in place: what it wrote stays). Run by its actor.
updater_setting writes_then_throws(caf::actor_system& sys) {
  updater_setting s;
  s.actor = spawn_function_updater(sys, [](const key&, const ndarray&, ndarray& stored) {
    stored.data<float>()[4] = 42.0f;  // row 1
    throw std::runtime_error("the updater gave up");
  });
  return s;
}

// Push rows {1, 4} of key 1 and pull them back, in one message (the pull
// rides) or in two (sent alone right behind the push): the push fails with
// the update; returns what the pull got.
part_result push_then_pull(adam_shard& s, bool one_message, const ndarray& out) {
  std::vector<part_request> items{push_rows({1, 4}, 0.75), pull_rows({1, 4}, out)};
  batch_reply r;
  if (one_message) {
    r = ask(s.self, s.shard, part_batch{items});
  } else {
    r = ask(s.self, s.shard, part_batch{{items[0]}});
    r.results.push_back(ask(s.self, s.shard, part_batch{{items[1]}}).results.at(0));
  }
  REQUIRE(r.results.size() == 2);
  require_failure(r.results[0], errc::invalid_argument, {"key 1"});
  return r.results[1];
}

}  // namespace

TEST_CASE("a pull of rows that rode with a push whose update failed gets what it gets sent "
          "alone right behind it: the rows as the failure left them",
          "[server][sparse][optimizer]") {
  auto which = GENERATE(as<std::string>{}, "built-in, in the shard's pass", "updater actor");
  INFO(which);
  auto make = which == "updater actor" ? make_setting(writes_then_throws)
                                       : make_setting(adam_without_state);
  adam_shard rode("", make), alone("", make);
  auto before = alone.table();
  auto got_rode = rows_buffer(2), got_alone = rows_buffer(2);
  auto r_rode = push_then_pull(rode, true, got_rode);
  auto r_alone = push_then_pull(alone, false, got_alone);
  INFO(r_rode.message);
  REQUIRE(r_alone.ok);
  REQUIRE(r_rode.ok);
  REQUIRE(got_rode.to_vector<float>() == got_alone.to_vector<float>());
  auto after = alone.table();
  REQUIRE(rode.table() == after);
  // Rows 1 and 4 as stored after the failure.
  std::vector<float> want(after.begin() + 3, after.begin() + 6);
  want.insert(want.end(), after.begin() + 12, after.begin() + 15);
  REQUIRE(got_alone.to_vector<float>() == want);
  if (which == "updater actor")
    REQUIRE(after[4] == 42.0f);  // what the updater wrote before it threw
  else
    REQUIRE(after == before);  // it threw before writing
}

TEST_CASE("dist_sync: a pull of rows that rode with a push fails with the round when the push "
          "left it open, and gets the rows when the push completed it, as sent alone",
          "[server][sparse][optimizer]") {
  auto rider = GENERATE(true, false);
  INFO((rider ? "one message" : "two messages"));
  adam_shard s("", writes_then_throws, 2);
  auto with_rank = [](part_request r, int32_t rank) {
    r.worker = rank;
    return r;
  };
  // Worker 0 pushes and pulls first (the round stays open), then worker 1
  // completes it, and the update fails; then the other way round.
  for (int32_t first : {0, 1}) {
    INFO("worker " << first << " pushes first");
    auto out = rows_buffer(2);
    auto push = with_rank(push_rows({1, 4}, 0.75), 0);
    auto pull = with_rank(pull_rows({1, 4}, out), 0);
    caf::scoped_actor other{s.sys};  // worker 1: its push waits for the round
    auto later = [&](caf::scoped_actor& a, part_batch b) {
      return a->request(s.shard, std::chrono::seconds(10), batch_atom::value, std::move(b));
    };
    caf::scoped_actor mine{s.sys};
    std::vector<part_result> got;
    auto keep = [&](const batch_reply& r) {
      for (auto& x : r.results)
        got.push_back(x);
    };
    auto lost = [](caf::error&) { FAIL("no answer"); };
    if (first == 1) {
      auto theirs = later(other, part_batch{{with_rank(push_rows({0}, 1.0), 1)}});
      if (rider) {
        keep(ask(mine, s.shard, part_batch{{push, pull}}));
      } else {
        keep(ask(mine, s.shard, part_batch{{push}}));
        keep(ask(mine, s.shard, part_batch{{pull}}));
      }
      theirs.receive([](batch_reply& r) { REQUIRE_FALSE(r.results.at(0).ok); }, lost);
    } else {
      auto ours = rider ? later(mine, part_batch{{push, pull}}) : later(mine, part_batch{{push}});
      caf::scoped_actor puller{s.sys};
      std::optional<decltype(later(puller, part_batch{}))> pulled;
      if (!rider)
        pulled.emplace(later(puller, part_batch{{pull}}));
      auto theirs = ask(other, s.shard, part_batch{{with_rank(push_rows({0}, 1.0), 1)}});
      REQUIRE_FALSE(theirs.results.at(0).ok);
      ours.receive(keep, lost);
      if (pulled)
        pulled->receive(keep, lost);
    }
    REQUIRE(got.size() == 2);
    require_failure(got[0], errc::invalid_argument, {"key 1"});
    if (first == 0) {  // held by the open round: failed with it
      require_failure(got[1], errc::invalid_argument, {"key 1"});
      continue;
    }
    INFO(got[1].message);
    REQUIRE(got[1].ok);  // the round ended with the push: the rows as the failure left them
    auto after = s.table();
    auto rows = out.to_vector<float>();
    REQUIRE(rows[1] == 42.0f);
    REQUIRE(std::vector<float>(rows.begin(), rows.begin() + 3) ==
            std::vector<float>(after.begin() + 3, after.begin() + 6));
    REQUIRE(std::vector<float>(rows.begin() + 3, rows.end()) ==
            std::vector<float>(after.begin() + 12, after.begin() + 15));
  }
}
