#include "actors/worker.hpp"

#include <caf/all.hpp>

#include "actors/fault_log.hpp"
#include "actors/timed_request.hpp"
#include "actors/wait_bounds.hpp"
#include "actors/worker_route.hpp"
#include "core/array_impl.hpp"
#include "core/op_tracker.hpp"
#include "messages/errors.hpp"

namespace kvs {

const char* to_string(op_kind k) {
  switch (k) {
    case op_kind::init: return "init";
    case op_kind::push: return "push";
    case op_kind::pull: return "pull";
    case op_kind::pushpull: return "pushpull";
  }
  return "?";
}

void operation::finish(const std::optional<kvs::error>& failure) {
  for (auto& a : inputs)
    detail::ndarray_access_end_read(a);
  for (auto& r : read_rows)
    detail::ndarray_access_end_read(r);
  for (auto& a : outputs)
    detail::ndarray_access_end_write(a, failure);
  if (tracker)
    tracker->finished(failure);
  if (done)
    done->set(failure);
}

namespace {

using detail::failure;
using detail::worker_impl;

// One request to every shard (remembering the ids, for a shard that dies).
// With a shard already known to be down the request cannot succeed: it fails
// at once naming the server, and no shard gets it (no partial load).
template <class Reply, class Each, class Done, class... Ts>
void to_all_shards(worker_impl self, const char* what, Each each, Done done, const Ts&... xs) {
  auto& st = self->state;
  for (size_t i = 0; i < st.shards.size(); ++i)
    if (st.shard_down[i]) {
      done(kvs::error(errc::peer_down, std::string(what) + ": " + st.opts.shard_names[i] + " is down"));
      return;
    }
  detail::fan_out<Reply>(
      self, st.deadlines, detail::wait_bounds::worker_to_shard(st.opts.request_timeout), st.shards,
      [what](size_t) { return std::string(what); },
      [self](size_t i, uint64_t id) { self->state.open_requests[i].insert(id); }, std::move(each),
      std::move(done), xs...);
}

void setup(worker_impl self, std::vector<shard_actor> shards, reducer_set reducers,
           worker_options opts) {
  auto& st = self->state;
  st.shards = std::move(shards);
  st.reducers = std::move(reducers);
  st.opts = std::move(opts);
  st.route = detail::make_route(st.opts);
  st.queue = detail::dispatch_queue<detail::op_ptr>(detail::dispatch_limits{
      st.opts.max_inflight, st.opts.max_inflight_bytes, st.opts.one_push_per_round});
  st.shard_down.assign(st.shards.size(), false);
  if (st.opts.shm)
    st.shm_free.emplace(detail::shm_header_bytes, st.opts.shm->size());
  st.open_requests.resize(st.shards.size());
  while (st.opts.shard_names.size() < st.shards.size())
    st.opts.shard_names.push_back("shard " + std::to_string(st.opts.shard_names.size()));
  for (auto& s : st.shards)
    if (s->node() != self->node())
      self->monitor(s);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto f = detail::capture([&] {
      auto& shards = self->state.shards;
      for (size_t i = 0; i < shards.size(); ++i)
        if (shards[i].address() == msg.source)
          detail::shard_lost(self, i);
    });
    if (f)
      detail::log_fault("worker, a shard is down", *f);
  });
}

worker_actor::behavior_type worker(worker_impl self, std::vector<shard_actor> shards,
                                   reducer_set reducers, worker_options opts) {
  setup(self, std::move(shards), std::move(reducers), std::move(opts));
  return {
      // Every handler turns what its work throws into an error answer (or,
      // with no request to answer, a line on stderr): CAF would end the worker.
      [=](submit_atom, op_batch& batch) {
        if (auto f = detail::capture([&] { detail::submit_ops(self, std::move(batch.ops)); }))
          detail::log_fault("worker, submit", *f);
      },
      [=](tick_atom) {
        auto& st = self->state;
        auto f = detail::capture([&] {
          detail::turn t{self};
          detail::on_tick(self, st.deadlines, st.opts.request_timeout);
          // Forget the ids of requests that have ended.
          for (auto& ids : st.open_requests)
            for (auto i = ids.begin(); i != ids.end();)
              i = st.deadlines.is_open(*i) ? std::next(i) : ids.erase(i);
        });
        if (f) {
          detail::log_fault("worker, deadlines", *f);
          detail::arm_tick(self, st.deadlines, st.opts.request_timeout);
        }
      },
      [=](updater_atom, updater_setting& setting) -> caf::result<ok_atom> {
        auto rp = self->make_response_promise<ok_atom>();
        auto f = detail::capture([&] {
          to_all_shards<ok_atom>(self, "set_updater", [](ok_atom) {},
                                 [rp](failure f) mutable { detail::reply(rp, f, ok_atom::value); },
                                 updater_atom::value, setting);
        });
        if (f)
          detail::reply(rp, f, ok_atom::value);
        return rp;
      },
      [=](compression_atom, std::string& body, bool tell_shards) -> caf::result<ok_atom> {
        auto rp = self->make_response_promise<ok_atom>();
        auto f = detail::capture([&] {
          auto& st = self->state;
          st.compression = detail::decode_compression(body);
          st.residuals.clear();
          if (!tell_shards) {
            rp.deliver(ok_atom::value);
            return;
          }
          to_all_shards<ok_atom>(self, "set_gradient_compression", [](ok_atom) {},
                                 [rp](failure f) mutable { detail::reply(rp, f, ok_atom::value); },
                                 compression_atom::value, body);
        });
        if (f)
          detail::reply(rp, f, ok_atom::value);
        return rp;
      },
      [=](save_atom) -> caf::result<std::vector<key_state>> {
        auto rp = self->make_response_promise<std::vector<key_state>>();
        auto f = detail::capture([&] {
          auto all = std::make_shared<std::vector<key_state>>();
          to_all_shards<std::vector<key_state>>(
              self, "save_optimizer_states",
              [all](std::vector<key_state> part) {
                all->insert(all->end(), part.begin(), part.end());
              },
              [rp, all](failure f) mutable { detail::reply(rp, f, std::move(*all)); },
              save_atom::value);
        });
        if (f)
          detail::reply(rp, f, std::vector<key_state>{});
        return rp;
      },
      [=](load_atom, std::vector<key_state>& states, bool with_counts) -> caf::result<ok_atom> {
        auto rp = self->make_response_promise<ok_atom>();
        auto f = detail::capture([&] {
          to_all_shards<ok_atom>(self, "load_optimizer_states", [](ok_atom) {},
                                 [rp](failure f) mutable { detail::reply(rp, f, ok_atom::value); },
                                 load_atom::value, states, with_counts);
        });
        if (f)
          detail::reply(rp, f, ok_atom::value);
        return rp;
      },
  };
}

}  // namespace

worker_actor spawn_worker(caf::actor_system& sys, std::vector<shard_actor> shards,
                          reducer_set reducers, worker_options opts) {
  return sys.spawn(worker, std::move(shards), std::move(reducers), std::move(opts));
}

}  // namespace kvs
