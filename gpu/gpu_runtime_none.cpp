// The GPU interface of a build without nvcc: nothing is there.
#include "gpu/gpu_runtime.hpp"

#include "kvs/error.hpp"

namespace kvs::cuda {

namespace {
[[noreturn]] void none(const std::string& what) {
  throw kvs::error(errc::no_device, what + ": " + availability());
}
}  // namespace

bool compiled_with_cuda() { return false; }
int device_count() { return 0; }
std::string availability() { return "this build of kvs has no CUDA code (nvcc was not found)"; }
void require_device(int id, const std::string& what) {
  none(what + " on gpu(" + std::to_string(id) + ")");
}
void* device_alloc(int, size_t) { none("device memory"); }
void device_free(int, void*) noexcept {}
bool gpu_in_use() noexcept { return false; }
void* pinned_alloc(size_t) noexcept { return nullptr; }
void pinned_free(void*) noexcept {}
void copy(void*, kvs::device, const void*, kvs::device, size_t) { none("a GPU copy"); }
void zero(void*, int, size_t) { none("a GPU fill"); }
stream::stream(int dev) : dev_(dev) { none("a CUDA stream"); }
stream::~stream() = default;
void* stream::handle() { return nullptr; }
stream_scope::stream_scope(stream&) : previous_(nullptr) { none("a CUDA stream"); }
stream_scope::~stream_scope() = default;
void stream::synchronize() {}
void sum(stream&, kvs::dtype, void*, const std::vector<const void*>&, size_t, bool) {
  none("a GPU sum");
}
bool enable_peer_access(int, int) { return false; }
nccl_group::nccl_group(const std::vector<int>&) { none("an NCCL communicator"); }
nccl_group::~nccl_group() = default;
void nccl_group::all_reduce(kvs::dtype, const std::vector<const void*>&, const std::vector<void*>&,
                            size_t) {
  none("ncclAllReduce");
}
void nccl_group::broadcast(kvs::dtype, int, const std::vector<void*>&, size_t) {
  none("ncclBroadcast");
}
void nccl_group::reduce(kvs::dtype, int, const std::vector<const void*>&, void*, size_t) {
  none("ncclReduce");
}
void nccl_group::run(const std::vector<nccl_op>&) { none("an NCCL group call"); }

}  // namespace kvs::cuda
