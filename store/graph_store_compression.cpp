// graph_store's side of gradient compression (docs/compression.md): which
// stores take it, when it may be set, what values it takes; the setting
// reaches the worker's compression stage and the shards' matching step (in
// process directly; on servers through command 4, as MXNet sends it).
#include "store/graph_store.hpp"

#include "store/store_kind.hpp"

namespace kvs::detail {

bool graph_store::compresses() const {
  // MXNet compresses between devices and between workers and servers only.
  auto kind = classify_store(type_);
  return kind.distributed || (kind.reduces_on_gpus && !kind.nccl);
}

void graph_store::do_set_gradient_compression(const compression& c) {
  auto kind = classify_store(type_);
  if (!compresses())
    throw error(errc::unsupported,
                "set_gradient_compression: a \"" + type_ +
                    "\" store does not compress gradients (as in MXNet); use device, dist_sync, "
                    "dist_device_sync or dist_async");
  auto setting = parse_compression(c);
  if (setting.pull && kind.distributed && !kind.sync)
    throw error(errc::invalid_argument,
                "set_gradient_compression: compress_pull on dist_async: dist_async always runs an "
                "optimizer in the store, so pulls send weights, not a summed gradient");
  if (setting.pull && has_updater_)
    throw error(errc::invalid_argument,
                "set_gradient_compression: compress_pull sends back the summed gradient, but an "
                "optimizer or updater already runs in this store (its pulls are weights)");
  {
    std::lock_guard<std::mutex> guard{meta_mtx_};
    if (!keys_.empty())
      throw error(errc::invalid_argument,
                  "set_gradient_compression must come before the first init (the residuals "
                  "start at zero with the keys); " +
                      std::to_string(keys_.size()) + " key(s) are already initialized");
  }
  auto body = encode_compression(setting);
  if (distributed()) {
    cluster_->check_scheduler("set_gradient_compression");
    // Rank 0 tells the servers; init's barrier orders it before any push.
    if (cluster_->info().rank == 0)
      cluster_->command(4, body);
  }
  ask_worker<ok_atom>("set_gradient_compression", compression_atom::value, body, !distributed());
  compression_ = setting;
}

void graph_store::check_compressible(const char* op, const key& k, const ndarray& v) const {
  if (compression_.type == codec::none)
    return;
  if (v.storage() == storage::row_sparse)
    throw error(errc::unsupported, std::string(op) + ": key " + k.to_string() +
                                       ": the value is row_sparse, which " +
                                       codec_name(compression_.type) +
                                       " gradient compression does not take (dense values only)");
  if (v.dtype() != dtype::f32)
    throw error(errc::dtype_mismatch, std::string(op) + ": key " + k.to_string() + " has dtype " +
                                          to_string(v.dtype()) + "; " +
                                          codec_name(compression_.type) +
                                          " gradient compression takes float32 values only");
}

void graph_store::check_no_compressed_pulls(const char* call) const {
  if (compression_.pull)
    throw error(errc::invalid_argument,
                std::string(call) + ": this store compresses pulls (set_gradient_compression "
                                    "with compress_pull), so it only sums gradients; an "
                                    "optimizer or updater cannot run in it");
}

}  // namespace kvs::detail
