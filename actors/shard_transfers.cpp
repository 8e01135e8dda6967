#include "actors/shard_transfers.hpp"

#include <caf/all.hpp>

#include "actors/key_shard_state.hpp"
#include "actors/timed_request.hpp"
#include "core/array_impl.hpp"
#include "core/element.hpp"

namespace kvs::detail {

namespace {

// Starts a transfer with `post`; `then` runs on the shard's turn when it
// ends (plane_done carries the outcome back from the progress thread).
void on_plane(shard_impl self, const std::function<void(ucx_plane::done_fn)>& post,
              std::function<void(failure)> then) {
  auto& st = self->state;
  auto token = st.transfers.next_token++;
  // Nothing waits forever: a transfer UCX never completes fails at the
  // request timeout (its buffers stay held until UCX lets go of them).
  auto deadline = st.deadlines.open(st.opts.request_timeout, "data plane transfer",
                                    [self, token](kvs::error e) {
                                      auto& pending = self->state.transfers.pending;
                                      auto i = pending.find(token);
                                      if (i == pending.end())
                                        return;
                                      i->second.expired = true;
                                      auto then = i->second.then;
                                      then(std::move(e));
                                    });
  arm_tick(self, st.deadlines, st.opts.request_timeout);
  st.transfers.pending.emplace(token, shard_transfers::in_flight{std::move(then), deadline, false});
  auto me = caf::actor_cast<shard_actor>(self);
  post([me, token](std::optional<kvs::error> f) {
    caf::anon_send(me, plane_done_atom::value, token,
                   static_cast<uint8_t>(f ? f->code() : errc::unsupported),
                   f ? std::string(f->what()) : std::string());
  });
}

// Why a descriptor cannot be honoured, if it cannot.
failure check_descriptor(shard_impl self, const remote_region& r) {
  auto& st = self->state;
  if (!st.opts.data_plane)
    return kvs::error(errc::unsupported,
                      "a part arrived as a data plane descriptor, but this server has no UCX data "
                      "plane (KVS_TRANSPORT)");
  if (st.transfers.peers.count(r.owner) == 0)
    return kvs::error(errc::invalid_argument,
                      "a data plane descriptor names a peer that did not shake hands");
  return std::nullopt;
}

// Only plain dense values travel over the plane (packed, row_sparse and
// failed parts, and rows, stay in band): a pushed range's claim must be a
// push of a key this shard holds, with as many elements as the key's part.
failure check_pushed_claim(const shard_state& st, const part_request& m, const array_view& v) {
  auto name = "key " + m.id.key.to_string() + " (part " + std::to_string(m.id.part) + ")";
  if (m.op != part_op::push || m.sparse || m.failed || m.codec != 0 || !m.rows.empty() ||
      !v.carries_data)
    return kvs::error(errc::invalid_argument,
                      "a data plane descriptor on " + name +
                          " is not a plain dense push (those parts travel in the message)");
  auto e = st.entries.find(entry_id{m.id.key, m.id.part});
  if (e == st.entries.end())
    return kvs::error(errc::key_not_initialized,
                      name + " is not initialized on this shard (a data plane descriptor)");
  if (v.count != e->second.stored.size())
    return kvs::error(errc::shape_mismatch,
                      "a data plane descriptor on " + name + " claims " + std::to_string(v.count) +
                          " elements; the key's part holds " +
                          std::to_string(e->second.stored.size()));
  return std::nullopt;
}

// A pulled value answered over the plane must be plain (not packed, not rows).
failure check_pulled_claim(const shard_state& st, const part_request& m) {
  if ((m.op != part_op::pull && m.op != part_op::push) || !m.rows.empty() || m.sparse ||
      m.codec != 0 || st.compression.type != codec::none)
    return kvs::error(errc::invalid_argument,
                      "a data plane descriptor for the answer on key " + m.id.key.to_string() +
                          " where the answer is not a plain dense value");
  return std::nullopt;
}

void serve_ready(shard_impl self, serve_batch_fn serve) {
  auto& q = self->state.transfers.arriving;
  while (!q.empty() && q.front()->reads_left == 0) {
    auto a = q.front();
    q.pop_front();
    if (a->first_failure) {  // its bytes never came: nothing of it is served
      batch_reply out;
      out.results.resize(a->batch.items.size());
      for (auto& r : out.results)
        reply(r, a->first_failure, ndarray());
      a->rp.deliver(std::move(out));
      continue;
    }
    serve(self, a->batch, a->remote, a->rp);
  }
}

}  // namespace

plane_hello answer_hello(shard_impl self, const plane_hello& worker) {
  auto& st = self->state;
  auto& plane = st.opts.data_plane;
  if (!plane || worker.address.empty())
    return plane_hello{};
  bool same_host = worker.host == plane->host();
  if (!same_host && !(st.opts.data_plane_network && worker.network))
    return plane_hello{plane->host(), std::string(), st.opts.data_plane_network};
  st.transfers.peers.insert(worker.address);
  plane->connect(worker.address);  // a lost worker then fails what the shard expects from it
  return plane_hello{plane->host(), plane->address(), st.opts.data_plane_network};
}

void accept_batch(shard_impl self, part_batch& batch, bool remote,
                  caf::typed_response_promise<batch_reply> rp, serve_batch_fn serve) {
  auto& st = self->state;
  std::vector<array_view*> reads;
  failure refused;
  for (auto& item : batch.items) {
    for (auto& v : item.inputs)
      if (!v.remote.empty()) {
        if (!refused)
          refused = check_descriptor(self, v.remote);
        if (!refused)
          refused = check_pushed_claim(st, item, v);
        reads.push_back(&v);
      }
    for (auto& v : item.outputs)
      if (!v.remote.empty() && !refused) {
        refused = check_descriptor(self, v.remote);
        if (!refused)
          refused = check_pulled_claim(st, item);
      }
  }
  if (reads.empty() && !refused && st.transfers.arriving.empty()) {
    serve(self, batch, remote, std::move(rp));
    return;
  }
  auto a = std::make_shared<arriving_batch>();
  a->remote = remote;
  a->rp = std::move(rp);
  a->first_failure = refused;
  if (!refused)
    a->reads_left = reads.size();
  st.transfers.arriving.push_back(a);
  if (!refused)
    for (auto* v : reads) {
      // The claim fits the key: only now is its array allocated.
      v->array = make_uninitialized(v->remote.dims, v->remote.type);
      auto* dest = ndarray_access::raw(v->array);
      auto r = v->remote;
      on_plane(
          self,
          [plane = st.opts.data_plane, r, dest](ucx_plane::done_fn done) {
            plane->recv(r.owner, r.tag, dest, r.bytes, std::move(done));
          },
          [self, a, serve](failure f) {
            if (f && !a->first_failure)
              a->first_failure = kvs::error(f->code(), "reading a pushed part: " +
                                                           std::string(f->what()));
            --a->reads_left;
            serve_ready(self, serve);
          });
      v->remote = remote_region{};  // the bytes are (to be) here now
    }
  a->batch = std::move(batch);  // the views keep their arrays: reads land there
  serve_ready(self, serve);
}

bool answers_by_plane(const part_request& m) {
  for (auto& v : m.outputs)
    if (!v.remote.empty())
      return true;
  return false;
}

item_done answer_by_plane(shard_impl self, const part_request& m, item_done answer) {
  std::vector<remote_region> dests;
  for (auto& v : m.outputs)
    dests.push_back(v.remote);
  return [self, dests = std::move(dests), answer = std::move(answer)](failure f, ndarray value) {
    if (f || value.is_none()) {
      answer(std::move(f), std::move(value));
      return;
    }
    auto bytes = value.size() * size_of(value.dtype());
    for (auto& d : dests)
      if (d.empty() || d.bytes != bytes) {
        answer(kvs::error(errc::invalid_argument,
                          "a pull's outputs mix descriptors and sizes that do not match its value"),
               ndarray());
        return;
      }
    // `value` (the stored array) is held until UCX lets go of it: a round
    // that writes it meanwhile writes a copy (make_exclusive).
    struct progress {
      size_t left;
      failure first;
    };
    auto p = std::make_shared<progress>(progress{dests.size(), std::nullopt});
    for (auto& d : dests)
      on_plane(
          self,
          [plane = self->state.opts.data_plane, d, value, bytes](ucx_plane::done_fn done) {
            plane->send(d.owner, d.tag, ndarray_access::raw(value), bytes, std::move(done));
          },
          [p, answer, value](failure pf) {
            if (pf && !p->first)
              p->first = kvs::error(pf->code(),
                                    "sending a pulled value: " + std::string(pf->what()));
            if (--p->left == 0)
              answer(p->first, ndarray());
          });
  };
}

void transfer_done(shard_impl self, uint64_t token, uint8_t code, std::string message) {
  auto& pending = self->state.transfers.pending;
  auto i = pending.find(token);
  if (i == pending.end())
    return;
  auto t = std::move(i->second);
  pending.erase(i);
  if (t.expired || !self->state.deadlines.close(t.deadline))
    return;  // already failed at its deadline
  auto then = std::move(t.then);
  failure f;
  if (!message.empty())
    f = kvs::error(static_cast<errc>(code), message);
  then(std::move(f));
}

}  // namespace kvs::detail
