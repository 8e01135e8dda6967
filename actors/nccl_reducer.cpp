#include "actors/nccl_reducer.hpp"

#include <functional>
#include <memory>
#include <set>

#include <caf/all.hpp>

#include "actors/gpu_reducer.hpp"
#include "actors/spawn_function.hpp"
#include "core/array_impl.hpp"
#include "actors/cpu_kernels.hpp"
#include "gpu/gpu_runtime.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

using flush_atom = caf::atom_constant<caf::atom("kvs_flush")>;
// The reducer interface, plus the flush the actor sends itself.
using nccl_reducer_actor = reducer_actor::extend<caf::reacts_to<flush_atom>>;

// A job waiting for the next group call, with the promise of its answer.
struct pending_job {
  std::function<void(std::vector<cuda::nccl_op>&)> plan;  // adds its collectives, or runs alone
  caf::typed_response_promise<ok_atom> rp;
};

struct nccl_state {
  std::unique_ptr<cuda::nccl_group> group;
  std::vector<std::unique_ptr<cuda::stream>> streams;  // by GPU, for the fallback
  std::vector<pending_job> pending;
  bool flush_sent = false;
};

using impl = nccl_reducer_actor::stateful_pointer<nccl_state>;

// The stream of the GPU a job's source is on (the first GPU's for a host
// source): a fallback copy is ordered there.
cuda::stream& stream_of(nccl_state& st, const array_view& source) {
  auto id = detail::on_gpu(source.array) ? source.array.device().id : 0;
  return *st.streams.at(static_cast<size_t>(id));
}

// The GPU id of each view, if each is on a different GPU and together they
// are every GPU of the group; else empty.
std::vector<int> one_per_gpu(const std::vector<array_view>& views, size_t gpus) {
  std::vector<int> ids;
  std::set<int> seen;
  for (auto& v : views) {
    if (!detail::on_gpu(v.array) || !seen.insert(v.array.device().id).second)
      return {};
    ids.push_back(v.array.device().id);
  }
  return ids.size() == gpus ? ids : std::vector<int>{};
}

// Adds the job's ncclReduce to the group, or runs it at once on the GPU
// reducer's path when its arrays are not one per GPU.
void plan_reduce(nccl_state& st, const reduce_job& job, std::vector<cuda::nccl_op>& ops) {
  detail::check_job(job);
  auto n = st.group->devices().size();
  auto ids = one_per_gpu(job.inputs, n);
  if (ids.empty() || job.accumulate || !detail::on_gpu(job.dest.array)) {
    detail::reduce_on_gpu(*st.streams.at(static_cast<size_t>(job.dest.array.device().id)), job);
    return;
  }
  cuda::nccl_op op;
  op.kind = cuda::nccl_op::reduce_op;
  op.type = job.dest.array.dtype();
  op.root = job.dest.array.device().id;
  op.count = job.dest.count;
  op.in.assign(n, nullptr);
  for (size_t i = 0; i < ids.size(); ++i)
    op.in[static_cast<size_t>(ids[i])] = detail::view_memory(job.inputs[i]);
  op.out = detail::view_memory(job.dest);
  ops.push_back(std::move(op));
}

void plan_copy(nccl_state& st, const copy_job& job, std::vector<cuda::nccl_op>& ops) {
  detail::check_job(job);
  auto n = st.group->devices().size();
  if (!detail::on_gpu(job.source.array) || n < 2) {
    detail::copy_from_gpu(stream_of(st, job.source), job);
    return;
  }
  // The source stands for its own GPU; the destinations cover the others.
  int root = job.source.array.device().id;
  std::vector<array_view> others;
  std::vector<array_view> rest;  // destinations the broadcast does not cover
  for (auto& d : job.dests) {
    if (detail::on_gpu(d.array) && d.array.device().id != root)
      others.push_back(d);
    else
      rest.push_back(d);
  }
  auto views = others;
  views.push_back(job.source);
  auto ids = one_per_gpu(views, n);
  if (ids.empty()) {
    detail::copy_from_gpu(stream_of(st, job.source), job);
    return;
  }
  cuda::nccl_op op;
  op.kind = cuda::nccl_op::broadcast_op;
  op.type = job.source.array.dtype();
  op.root = root;
  op.count = job.source.count;
  op.bufs.assign(n, nullptr);
  for (size_t i = 0; i < views.size(); ++i)
    op.bufs[static_cast<size_t>(ids[i])] = detail::view_memory(views[i]);
  ops.push_back(std::move(op));
  if (!rest.empty())
    detail::copy_from_gpu(stream_of(st, job.source), copy_job{job.source, rest});
}

// Jobs that arrived together (the keys of one list call) go out in one NCCL
// group call when the flush the actor sent itself comes up.
template <class Job>
caf::result<ok_atom> enqueue(impl self, Job job,
                             void (*plan)(nccl_state&, const Job&, std::vector<cuda::nccl_op>&)) {
  auto& st = self->state;
  auto rp = self->make_response_promise<ok_atom>();
  auto f = detail::capture([&] {
    st.pending.push_back(pending_job{[&st, job = std::move(job), plan](std::vector<cuda::nccl_op>& ops) {
                                       detail::claim_job(job);
                                       plan(st, job, ops);
                                     },
                                     rp});
    if (!st.flush_sent) {
      st.flush_sent = true;
      self->send(self, flush_atom::value);
    }
  });
  if (f)
    detail::reply(rp, f, ok_atom::value);
  return rp;
}

void flush(nccl_state& st) {
  st.flush_sent = false;
  auto jobs = std::move(st.pending);
  st.pending.clear();
  std::vector<cuda::nccl_op> ops;
  std::vector<pending_job*> grouped;
  for (auto& j : jobs) {
    auto before = ops.size();
    auto f = detail::capture([&] { j.plan(ops); });
    if (f)
      ops.resize(before);  // a failed job adds nothing to the group
    if (f || ops.size() == before)
      detail::reply(j.rp, f, ok_atom::value);  // failed, or ran on its own
    else
      grouped.push_back(&j);
  }
  if (ops.empty())
    return;
  auto f = detail::capture([&] { st.group->run(ops); });
  for (auto* j : grouped)
    detail::reply(j->rp, f, ok_atom::value);
}

nccl_reducer_actor::behavior_type nccl_reducer(impl self) {
  std::vector<int> devices;
  for (int d = 0; d < cuda::device_count(); ++d) {
    devices.push_back(d);
    self->state.streams.push_back(std::make_unique<cuda::stream>(d));
  }
  self->state.group = std::make_unique<cuda::nccl_group>(devices);
  return {
      [=](reduce_atom, reduce_job& job) { return enqueue(self, std::move(job), &plan_reduce); },
      [=](copy_atom, copy_job& job) { return enqueue(self, std::move(job), &plan_copy); },
      [=](flush_atom) { flush(self->state); },
  };
}

}  // namespace

reducer_actor spawn_nccl_reducer(caf::actor_system& sys) {
  if (cuda::device_count() == 0)
    throw kvs::error(errc::no_device, "the nccl store needs at least one GPU: " + cuda::availability());
  return caf::actor_cast<reducer_actor>(detail::spawn_function<caf::detached>(sys, nccl_reducer));
}

}  // namespace kvs
