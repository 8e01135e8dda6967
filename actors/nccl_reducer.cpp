#include "actors/nccl_reducer.hpp"

#include <memory>
#include <set>

#include <caf/all.hpp>

#include "actors/gpu_reducer.hpp"
#include "core/array_impl.hpp"
#include "core/cpu_kernels.hpp"
#include "gpu/gpu_runtime.hpp"
#include "actors/job_answer.hpp"

namespace kvs {

namespace {

struct nccl_state {
  std::unique_ptr<cuda::nccl_group> group;
  std::vector<std::unique_ptr<cuda::stream>> streams;  // by GPU, for the fallback
};

using impl = reducer_actor::stateful_pointer<nccl_state>;

char* at(const array_view& v) {
  return static_cast<char*>(detail::ndarray_access::raw(v.array)) + v.offset * size_of(v.array.dtype());
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

void reduce(nccl_state& st, const reduce_job& job) {
  detail::check_job(job);
  auto n = st.group->devices().size();
  auto ids = one_per_gpu(job.inputs, n);
  if (ids.empty() || job.accumulate || !detail::on_gpu(job.dest.array)) {
    detail::reduce_on_gpu(*st.streams.at(static_cast<size_t>(job.dest.array.device().id)), job);
    return;
  }
  std::vector<const void*> in(n);
  for (size_t i = 0; i < ids.size(); ++i)
    in[static_cast<size_t>(ids[i])] = at(job.inputs[i]);
  st.group->reduce(job.dest.array.dtype(), job.dest.array.device().id, in, at(job.dest),
                   job.dest.count);
}

void copy(nccl_state& st, const copy_job& job) {
  detail::check_job(job);
  auto n = st.group->devices().size();
  if (!detail::on_gpu(job.source.array) || n < 2) {
    detail::copy_from_gpu(job);
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
    detail::copy_from_gpu(job);
    return;
  }
  std::vector<void*> bufs(n);
  for (size_t i = 0; i < views.size(); ++i)
    bufs[static_cast<size_t>(ids[i])] = at(views[i]);
  st.group->broadcast(job.source.array.dtype(), root, bufs, job.source.count);
  if (!rest.empty())
    detail::copy_from_gpu(copy_job{job.source, rest});
}

reducer_actor::behavior_type nccl_reducer(impl self) {
  std::vector<int> devices;
  for (int d = 0; d < cuda::device_count(); ++d) {
    devices.push_back(d);
    self->state.streams.push_back(std::make_unique<cuda::stream>(d));
  }
  self->state.group = std::make_unique<cuda::nccl_group>(devices);
  return {
      [=](reduce_atom, const reduce_job& job) -> caf::result<ok_atom> {
        return detail::answer_job([&] { reduce(self->state, job); });
      },
      [=](copy_atom, const copy_job& job) -> caf::result<ok_atom> {
        return detail::answer_job([&] { copy(self->state, job); });
      },
  };
}

}  // namespace

reducer_actor spawn_nccl_reducer(caf::actor_system& sys) {
  if (cuda::device_count() == 0)
    throw kvs::error(errc::no_device, "the nccl store needs at least one GPU: " + cuda::availability());
  return sys.spawn<caf::detached>(nccl_reducer);
}

}  // namespace kvs
