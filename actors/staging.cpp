#include "actors/staging.hpp"

#include "core/array_impl.hpp"

namespace kvs::detail {

namespace {

bool cpu_view(const array_view& v) { return !on_gpu(v.array); }

// A host array holding the view's range.
array_view host_copy(const array_view& v, bool fill) {
  auto tmp = make_uninitialized({static_cast<int64_t>(v.count)}, v.array.dtype());
  if (fill)
    copy_elements(v.array, v.offset, tmp, 0, v.count);
  return array_view::whole(tmp);
}

}  // namespace

bool all_on_cpu(const reduce_job& job) {
  if (!cpu_view(job.dest))
    return false;
  for (auto& v : job.inputs)
    if (!cpu_view(v))
      return false;
  return true;
}

bool all_on_cpu(const copy_job& job) {
  if (!cpu_view(job.source))
    return false;
  for (auto& v : job.dests)
    if (!cpu_view(v))
      return false;
  return true;
}

staged_job stage_to_host(reduce_job& job) {
  staged_job out;
  for (auto& v : job.inputs)
    if (!cpu_view(v))
      v = host_copy(v, true);
  if (!cpu_view(job.dest)) {
    auto tmp = host_copy(job.dest, job.accumulate);
    out.write_back.emplace_back(job.dest, tmp);
    job.dest = tmp;
  }
  return out;
}

staged_job stage_to_host(copy_job& job) {
  staged_job out;
  if (!cpu_view(job.source))
    job.source = host_copy(job.source, true);
  for (auto& d : job.dests)
    if (!cpu_view(d)) {
      auto tmp = host_copy(d, false);
      out.write_back.emplace_back(d, tmp);
      d = tmp;
    }
  return out;
}

void write_back(const staged_job& staged) {
  for (auto& [gpu_view, host] : staged.write_back)
    copy_elements(host.array, 0, gpu_view.array, gpu_view.offset, gpu_view.count);
}

}  // namespace kvs::detail
