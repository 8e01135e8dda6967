// A shard's rounds of packed (compressed) pushes: the shard holds a round's
// packed pushes and sums them in one pass when the round completes (or
// sooner, when they would pass the bytes of the round's float buffer); a
// plain push in the same round keeps its place in the order of the sum; a
// failed round drops what it held; a push packed under another setting is
// summed with its own; with compressed pulls, each worker is sent the sum
// packed with its own residual, whoever shares the packing work.
#include <catch2/catch.hpp>

#include <map>

#include <caf/all.hpp>

#include "actors/cpu_reducer.hpp"
#include "../compression_reference.hpp"
#include "actors/key_shard.hpp"
#include "core/array_impl.hpp"
#include "core/compression.hpp"
#include "shard_driver.hpp"

using namespace kvs;

namespace {

// 4 values, all +3 or all -3, packed by hand as 2bit with threshold 3:
// code 11 (+t) or 10 (-t) for each of the 4 values of byte 0, then zeros.
part_request packed_push(int worker, bool plus) {
  auto bytes = ndarray::zeros({4}, dtype::u8);
  auto* b = bytes.data<uint8_t>();
  b[0] = plus ? 0xFF : 0xAA;
  auto r = request(part_op::push, 1, {array_view::whole(bytes)});
  r.worker = worker;
  r.codec = static_cast<uint8_t>(detail::codec::two_bit);
  return r;
}

part_request plain_push(int worker, double v) {
  auto r = request(part_op::push, 1, {array_view::whole(ndarray::full({4}, v))});
  r.worker = worker;
  return r;
}

std::vector<float> round_of(caf::scoped_actor& self, const shard_actor& shard,
                            std::vector<part_request> pushes) {
  auto out = ndarray::full({4}, -1.0);
  auto pull = request(part_op::pull, 1, {}, {array_view::whole(out)});
  pull.worker = 0;
  pushes.push_back(pull);
  for (auto& r : ask(self, shard, part_batch{std::move(pushes)}).results) {
    INFO(r.message);
    REQUIRE(r.ok);
  }
  return out.to_vector<float>();
}

// `v` in each of 4 values, packed by the shard's quantizer with a zero
// residual (v = +-t: exactly +-t for 2bit, and for fp16 a value it holds).
part_request packed_of(int worker, detail::codec c, float v, float t) {
  std::vector<float> g(4, v), r(4, 0.0f);
  auto bytes = ndarray::zeros({static_cast<int64_t>(detail::packed_bytes(c, 4))}, dtype::u8);
  detail::compress(c, g.data(), r.data(), 4, t, bytes.data<uint8_t>());
  auto p = request(part_op::push, 1, {array_view::whole(bytes)});
  p.worker = worker;
  p.codec = static_cast<uint8_t>(c);
  return p;
}

// A shard of key 1 (4 float zeros) for `workers` workers, told `setting`.
struct packed_shard {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  reducer_set reducers{spawn_cpu_reducer(sys, 1, 1000000), {}};
  shard_actor shard;
  caf::scoped_actor self{sys};

  packed_shard(int workers, const std::string& setting) {
    shard_options opts;
    opts.num_workers = workers;
    shard = spawn_key_shard(sys, reducers, opts);
    tell(setting);
    REQUIRE(ask(self, shard, part_batch{{request(part_op::init, 1, {array_view::whole(ndarray::zeros({4}))})}})
                .results.at(0)
                .ok);
  }
  ~packed_shard() {
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    reducers.stop();
  }
  void tell(const std::string& setting) {
    self->request(shard, std::chrono::seconds(10), compression_atom::value, setting)
        .receive([](ok_atom) {}, [](caf::error&) { FAIL("compression refused"); });
  }
  // Sends a push of the open round (answered when the round ends), then
  // waits until the shard has taken it: an empty batch after it is
  // answered at once, and only after it.
  void push_async(part_request p) {
    self->send(shard, batch_atom::value, part_batch{{std::move(p)}});
    ask(self, shard, part_batch{});
  }
};

// Whether the shard holds `a` (a handle of it besides the test's).
bool shard_holds(const ndarray& a) { return detail::ndarray_access::use_count(a) > 1; }

}  // namespace

TEST_CASE("a round mixing plain and packed pushes sums them in the order they came",
          "[server][compression]") {
  packed_shard s(3, "2bit,3");
  auto& self = s.self;
  auto& shard = s.shard;
  // Floats near 1e8 are 8 apart: (1e8 + 3) + 3 is 1e8, but 1e8 + (3 + 3)
  // is 1e8 + 8. So the order shows, and so would a lost push.
  const std::vector<float> hundred_million(4, 1e8f);
  SECTION("a plain push, then packed ones") {
    REQUIRE(round_of(self, shard, {plain_push(0, 1e8), packed_push(1, true), packed_push(2, true)}) ==
            hundred_million);
  }
  SECTION("a packed push, a plain one, a packed one") {
    REQUIRE(round_of(self, shard, {packed_push(0, true), plain_push(1, 1e8), packed_push(2, true)}) ==
            hundred_million);
  }
  SECTION("packed pushes only, over rounds") {
    REQUIRE(round_of(self, shard, {packed_push(0, true), packed_push(1, false), packed_push(2, true)}) ==
            std::vector<float>(4, 3.0f));
    REQUIRE(round_of(self, shard, {packed_push(2, false), packed_push(0, false), packed_push(1, true)}) ==
            std::vector<float>(4, -3.0f));
  }
}

TEST_CASE("the packed pushes a shard holds never pass the bytes of the round's float buffer",
          "[server][compression]") {
  // 4 values: a float buffer of 16 bytes; 2bit packs them in 4 bytes (4
  // pushes held at most), fp16 in 8 (2: a round of 2 workers is summed and
  // packed in one pass when it completes).
  for (auto [c, name] : {std::pair{detail::codec::two_bit, "2bit,3"}, std::pair{detail::codec::fp16, "fp16,0.5"}}) {
    INFO(name);
    const int workers = 12;
    packed_shard s(workers, name);
    std::vector<ndarray> sent;
    size_t most = 0;
    for (int w = 0; w + 1 < workers; ++w) {
      auto p = packed_of(w, c, w % 3 == 0 ? -3.0f : 3.0f, 3.0f);
      sent.push_back(p.inputs[0].array);
      s.push_async(std::move(p));
      size_t held = 0, bytes = 0, first = sent.size();
      for (size_t i = 0; i < sent.size(); ++i)
        if (shard_holds(sent[i])) {
          ++held;
          bytes += sent[i].size();
          first = std::min(first, i);
        }
      INFO(held << " of " << sent.size() << " held");
      REQUIRE(first + held == sent.size());  // the latest ones: the others were summed, in order
      REQUIRE(bytes <= 16);
      most = std::max(most, held);
    }
    REQUIRE(most == 16 / sent.at(0).size());  // held up to the cap
    // The last push completes the round: every push summed once (8 of +3, 4 of -3).
    REQUIRE(round_of(s.self, s.shard, {packed_of(workers - 1, c, 3.0f, 3.0f)}) ==
            std::vector<float>(4, 12.0f));
    for (auto& a : sent)
      REQUIRE_FALSE(shard_holds(a));
  }
}

TEST_CASE("a failed round drops the packed pushes it held: the next round sums only its own",
          "[server][compression]") {
  packed_shard s(3, "2bit,3");
  s.push_async(packed_push(0, true));  // held
  auto failed = request(part_op::push, 1, {});
  failed.worker = 1;
  failed.failed = true;
  failed.failed_code = static_cast<uint8_t>(errc::io_error);
  failed.failed_why = "its device failed";
  auto results = ask(s.self, s.shard, part_batch{{failed, packed_push(2, true)}}).results;
  REQUIRE_FALSE(results.at(0).ok);
  REQUIRE_FALSE(results.at(1).ok);
  REQUIRE(round_of(s.self, s.shard, {packed_push(0, false), packed_push(1, false), packed_push(2, true)}) ==
          std::vector<float>(4, -3.0f));
}

TEST_CASE("a push packed after the setting changed mid-round is summed with its own threshold, "
          "and the ones held before with theirs",
          "[server][compression]") {
  packed_shard s(3, "2bit,3");
  s.push_async(packed_push(0, true));  // +3, held
  s.tell("2bit,1");
  REQUIRE(round_of(s.self, s.shard, {packed_push(1, true), packed_push(2, true)}) ==
          std::vector<float>(4, 5.0f));  // 3 + 1 + 1
}

TEST_CASE("compressed pulls from a shard: each worker gets the sum packed with its own residual",
          "[server][compression]") {
  // 3 workers, 2bit with threshold 3; all 4 values alike, so each answer is
  // one byte of 4 codes and 3 zero bytes. Per round: what each push sends
  // (+3 or -3), and which workers pull. Worker 0's pull waits for the round
  // (its sum packed as it is summed); the others pull after it completes.
  // Round 1: only worker 0 pulls, so the residual the three shared must
  // stay as it was for workers 1 and 2.
  struct round {
    std::vector<float> pushes;
    std::vector<int> pulls;
  };
  std::vector<round> rounds{{{3, 3, 3}, {0, 1, 2}},
                            {{3, -3, -3}, {0}},
                            {{3, -3, -3}, {0, 1, 2, 2}},
                            {{-3, -3, 3}, {0, 1, 2}}};
  packed_shard s(3, "2bit,3,pull");
  std::vector<float> residual(3, 0.0f);  // the reference's, per worker
  for (size_t r = 0; r < rounds.size(); ++r) {
    auto& rd = rounds[r];
    float sum = rd.pushes[0] + rd.pushes[1] + rd.pushes[2];
    std::vector<part_request> items;
    std::vector<int> pulled;
    auto push = [&](int w) { items.push_back(packed_push(w, rd.pushes[w] > 0)); };
    auto pull = [&](int w) {
      auto p = request(part_op::pull, 1, {}, {array_view::whole(ndarray::zeros({4}))});
      p.worker = w;
      items.push_back(p);
      pulled.push_back(w);
    };
    bool waits = rd.pulls.front() == 0;
    push(0);
    if (waits)
      pull(0);
    push(1);
    push(2);
    for (size_t i = waits ? 1 : 0; i < rd.pulls.size(); ++i)
      pull(rd.pulls[i]);
    auto results = ask(s.self, s.shard, part_batch{items}).results;
    size_t first_pull = items.size() - pulled.size();
    std::map<int, uint8_t> codes;  // what each worker was sent this round
    for (size_t i = 0; i < pulled.size(); ++i) {
      int w = pulled[i];
      auto& got = results.at(i == 0 && waits ? 1 : first_pull + i).value;
      INFO("round " << r << " worker " << w);
      if (!codes.count(w))  // a second pull of the same sum: the same bytes, residual as it was
        ref::two_bit(sum, residual[w], 3.0f, codes[w]);
      auto code = codes[w];
      REQUIRE(got.size() == 4);
      auto* b = got.data<uint8_t>();
      REQUIRE(std::vector<uint8_t>(b, b + 4) ==
              std::vector<uint8_t>{static_cast<uint8_t>(code << 6 | code << 4 | code << 2 | code), 0, 0, 0});
    }
  }
}
