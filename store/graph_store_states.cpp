// graph_store: saving and loading optimizer state (state files). A
// distributed store keeps a big key in parts, one per server (and chunks);
// the file holds each part's state under its part number, and a load gives
// each shard the parts it keeps.
#include <caf/all.hpp>

#include "core/optimizer_state_layout.hpp"
#include "core/row_ops.hpp"
#include "core/sharding.hpp"
#include "store/graph_store.hpp"
#include "messages/errors.hpp"
#include "serialization/state_file.hpp"

namespace kvs::detail {

void graph_store::do_save_optimizer_states(const std::string& path, bool dump_optimizer) {
  if (!optimizer_)
    throw error(errc::invalid_argument,
                "save_optimizer_states: no optimizer is set (set_optimizer first); a function "
                "or actor updater keeps its own state");
  if (cluster_)
    cluster_->check_scheduler("save_optimizer_states");
  tracker_->wait_all(wait_limit());
  state_file file;
  file.keys = ask_worker<std::vector<key_state>>("save_optimizer_states", save_atom::value);
  file.has_optimizer = dump_optimizer;
  if (dump_optimizer)
    file.optimizer_bytes = optimizer_->serialize();
  write_state_file(path, file);
}

std::vector<kvs::shape> graph_store::part_shapes(const key& k, const key_meta& m) const {
  if (!distributed())
    return {m.dims};  // in process, keys stay whole
  uint64_t elements = 1;
  for (auto d : m.dims)
    elements *= static_cast<uint64_t>(d);
  auto ranges = partition(k, elements, static_cast<uint32_t>(shards_.size()),
                          static_cast<uint64_t>(cfg_.bigarray_bound),
                          static_cast<uint64_t>(cfg_.max_message_bytes) / size_of(m.type),
                          m.row_split);
  if (ranges.size() == 1)
    return {m.dims};
  // Parts that hold whole rows keep rows on their shard, as the part planner
  // sends them (actors/part_planner.cpp, actors/key_shard.cpp); others are flat.
  uint64_t row_len = m.row_split;
  if (row_len == 0) {
    row_len = row_length(m.dims);  // 1 for a 1-D key: flat parts
    if (!cuts_between_rows(ranges, row_len))
      row_len = 1;
  }
  std::vector<kvs::shape> out;
  for (auto& r : ranges)
    out.push_back(row_len <= 1 ? kvs::shape{static_cast<int64_t>(r.count)}
                               : kvs::shape{static_cast<int64_t>(r.count / row_len),
                                            static_cast<int64_t>(row_len)});
  return out;
}

void graph_store::check_part(const key_state& ks) const {
  auto parts = part_shapes(ks.key, meta_of("load_optimizer_states", ks.key)).size();
  if (ks.part >= parts)
    throw error(errc::invalid_argument,
                "load_optimizer_states: the file has part " + std::to_string(ks.part) + " of key " +
                    ks.key.to_string() + "; this store keeps it in " + std::to_string(parts) +
                    " part(s) (servers, bigarray_bound and max_message_bytes decide; save and "
                    "load with the same ones)");
}

void graph_store::check_key_state(const key_state& ks, const optimizer& opt) const {
  auto& m = meta_of("load_optimizer_states", ks.key);
  auto shapes = part_shapes(ks.key, m);
  auto name = "key " + ks.key.to_string() +
              (shapes.size() > 1 ? " part " + std::to_string(ks.part) : std::string());
  auto& dims = shapes[ks.part];
  auto layout = optimizer_state_layout(m.type, dims, opt.state_arrays(), opt.multi_precision());
  if (!ks.arrays.empty() && ks.arrays.size() != layout.size())  // empty: never updated yet
    throw error(errc::invalid_argument, "load_optimizer_states: " + name + " has " +
                                            std::to_string(ks.arrays.size()) +
                                            " state arrays; optimizer \"" + opt.name() +
                                            "\" keeps " + std::to_string(layout.size()));
  for (size_t i = 0; i < ks.arrays.size(); ++i) {
    if (ks.arrays[i].shape() != layout[i].shape)
      throw error(errc::shape_mismatch, "load_optimizer_states: " + name + " has shape " +
                                            to_string(dims) + " but its state " +
                                            std::to_string(i) + " has shape " +
                                            to_string(ks.arrays[i].shape()));
    if (ks.arrays[i].dtype() != layout[i].type)
      throw error(errc::dtype_mismatch, "load_optimizer_states: state " + std::to_string(i) +
                                            " of " + name + " has dtype " +
                                            to_string(ks.arrays[i].dtype()) + ", expected " +
                                            to_string(layout[i].type));
  }
}

void graph_store::check_states(const std::vector<key_state>& states, const optimizer& opt) const {
  std::lock_guard<std::mutex> guard{meta_mtx_};
  for (auto& ks : states)  // first how the file splits keys, then each part
    check_part(ks);
  for (auto& ks : states)
    check_key_state(ks, opt);
}

// Distributed: with an optimizer in the file, every worker calls this (it
// sets the optimizer, a collective like set_optimizer) and rank 0 alone sends
// the states; every worker returns once the servers have them. Without one,
// the worker that calls it sends them.
void graph_store::do_load_optimizer_states(const std::string& path) {
  auto file = read_state_file(path);
  std::shared_ptr<optimizer> from_file;
  if (file.has_optimizer)
    from_file = optimizer::deserialize(file.optimizer_bytes);
  std::shared_ptr<const optimizer> opt = from_file ? from_file : optimizer_;
  if (!opt)
    throw error(errc::invalid_argument,
                "load_optimizer_states: \"" + path + "\" holds no optimizer (saved without "
                "dump_optimizer) and none is set: call set_optimizer first");
  check_states(file.keys, *opt);  // nothing changes unless the whole file fits
  if (cluster_)
    cluster_->check_scheduler("load_optimizer_states");
  if (from_file)
    do_set_optimizer(from_file);
  tracker_->wait_all(wait_limit());
  bool collective = distributed() && from_file;
  if (!collective || cluster_->info().rank == 0)
    ask_worker<ok_atom>("load_optimizer_states", load_atom::value, std::move(file.keys),
                        file.has_optimizer);
  if (collective)
    cluster_->barrier();
}

}  // namespace kvs::detail
