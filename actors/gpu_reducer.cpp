#include "actors/gpu_reducer.hpp"

#include <memory>

#include <caf/all.hpp>

#include "actors/cpu_kernels.hpp"
#include "core/array_impl.hpp"
#include "gpu/gpu_runtime.hpp"
#include "messages/errors.hpp"

namespace kvs {

namespace {

struct gpu_state {
  int device = 0;
  std::unique_ptr<cuda::stream> stream;
  bool peers_enabled = false;  // on the first job: a reducer never used creates no CUDA context
};

using impl = reducer_actor::stateful_pointer<gpu_state>;

}  // namespace

namespace detail {

void reduce_on_gpu(cuda::stream& s, const reduce_job& job) {
  cuda::stream_scope scope(s);
  detail::check_job(job);
  auto here = gpu(s.device());
  if (job.dest.array.device() != here)
    throw kvs::error(errc::invalid_argument, "the reducer of " + to_string(here) +
                                                 " got a destination on " +
                                                 to_string(job.dest.array.device()));
  std::vector<ndarray> moved;  // inputs copied to this GPU, alive until the sum ends
  std::vector<const void*> srcs;
  for (auto& in : job.inputs) {
    if (in.array.device() == here) {
      srcs.push_back(view_memory(in));
      continue;
    }
    auto tmp = detail::make_uninitialized({static_cast<int64_t>(in.count)}, in.array.dtype(), here);
    detail::copy_elements(in.array, in.offset, tmp, 0, in.count);
    srcs.push_back(detail::ndarray_access::raw(tmp));
    moved.push_back(tmp);
  }
  cuda::sum(s, job.dest.array.dtype(), view_memory(job.dest), srcs, job.dest.count, job.accumulate);
}

void copy_from_gpu(cuda::stream& s, const copy_job& job) {
  cuda::stream_scope scope(s);
  detail::check_job(job);
  auto& src = job.source;
  for (auto& d : job.dests)
    detail::copy_elements(src.array, src.offset, d.array, d.offset, src.count);
}

}  // namespace detail

namespace {

void enable_peers(gpu_state& st) {
  if (st.peers_enabled)
    return;
  st.peers_enabled = true;
  for (int peer = 0; peer < cuda::device_count(); ++peer)
    if (peer != st.device)
      cuda::enable_peer_access(st.device, peer);
}

reducer_actor::behavior_type gpu_reducer(impl self, int device) {
  self->state.device = device;
  self->state.stream = std::make_unique<cuda::stream>(device);
  return {
      [=](reduce_atom, const reduce_job& job) -> caf::result<ok_atom> {
        auto& st = self->state;
        return detail::reply(detail::capture([&] {
                               detail::claim_job(job);
                               enable_peers(st);
                               detail::reduce_on_gpu(*st.stream, job);
                             }),
                             ok_atom::value);
      },
      [=](copy_atom, const copy_job& job) -> caf::result<ok_atom> {
        auto& st = self->state;
        return detail::reply(detail::capture([&] {
                               detail::claim_job(job);
                               enable_peers(st);
                               detail::copy_from_gpu(*st.stream, job);
                             }),
                             ok_atom::value);
      },
  };
}

}  // namespace

reducer_actor spawn_gpu_reducer(caf::actor_system& sys, int device) {
  cuda::require_device(device, "a GPU reducer");
  return sys.spawn<caf::detached>(gpu_reducer, device);
}

}  // namespace kvs
