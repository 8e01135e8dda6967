#pragma once
// The store built on the actor graph: the caller's side checks arguments
// against the keys it knows (so a bad call throws at once), marks the arrays
// and hands one operation per key to the worker actor. local and device are
// this class with the shards in process; dist_* the same class with the
// shards in server processes, reached through the middleman.
#include <memory>
#include <mutex>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/optimizer_updater.hpp"
#include "actors/wait_bounds.hpp"
#include "store/blocking_request.hpp"
#include "store/cluster_member.hpp"
#include "core/compression.hpp"
#include "core/op_tracker.hpp"
#include "core/telemetry.hpp"
#include "kvs/kvstore.hpp"
#include "actors/reducer_set.hpp"
#include "messages/shard_actor.hpp"
#include "messages/worker_actor.hpp"

namespace kvs::detail {

class graph_store : public kvstore {
public:
  graph_store(std::string type, const config& cfg);
  ~graph_store() override;

protected:
  void do_init(const key_list&, const array_list&) override;
  void do_push(const key_list&, const array_lists&, int) override;
  void do_pull(const key_list&, const array_lists&, int, bool) override;
  void do_pushpull(const key_list&, const array_lists&, const array_lists&, int) override;
  void do_row_sparse_pull(const key_list&, const array_lists&, const array_lists&, int) override;
  void do_set_optimizer(std::shared_ptr<optimizer> opt) override;
  void do_set_updater(updater fn) override;
  void do_set_updater_actor(updater_actor handle) override;
  void do_set_gradient_compression(const compression& c) override;
  void do_save_optimizer_states(const std::string& path, bool dump_optimizer) override;
  void do_load_optimizer_states(const std::string& path) override;
  bool do_is_capable(const std::string& capability) const override;
  store_stats do_stats() const override;
  void do_wait_all() override;
  void do_barrier() override;
  void do_send_command_to_servers(int head, const std::string& body) override;
  int do_rank() const override;
  int do_num_workers() const override;
  int do_local_rank() const override;
  std::string do_type() const override { return type_; }
  caf::actor_system& do_system() override { return *system_; }

private:
  struct key_meta {
    kvs::shape dims;
    kvs::dtype type;
    uint64_t row_split = 0;  // initialized row_sparse: split by rows of this many elements
  };
  const key_meta& meta_of(const char* op, const key& k) const;
  void check_value(const char* op, const key& k, const ndarray& v, const char* role) const;
  bool compresses() const;  // set_gradient_compression is taken (MXNet's types)
  // A pushed value the store's compression can take (float32, dense).
  void check_compressible(const char* op, const key& k, const ndarray& v) const;
  // Throws when compressed pulls are set: an optimizer or updater cannot run.
  void check_no_compressed_pulls(const char* call) const;
  // Adds a pull output, landing in an array of the key's dtype when the
  // output's differs (the worker converts).
  void add_output(operation& op, const ndarray& out) const;
  std::shared_ptr<operation> make_op(op_kind kind, const key& k, int priority);
  // A pull of rows into row_sparse outputs (row_ids none: every row).
  std::shared_ptr<operation> make_rows_op(const key& k, const std::vector<ndarray>& outs,
                                          const ndarray& row_ids, int priority);
  void submit(std::vector<std::shared_ptr<operation>> ops);
  std::chrono::milliseconds wait_limit() const;
  void install_updater(updater_setting setting, bool owned);
  // Sends one request to the worker and waits for its answer.
  template <class Reply, class... Ts>
  Reply ask_worker(const char* what, Ts&&... xs);
  void check_states(const std::vector<key_state>& states, const optimizer& opt) const;
  void check_part(const key_state& ks) const;
  void check_key_state(const key_state& ks, const optimizer& opt) const;
  // The shape of each part the store keeps of key `k` (the worker's plan:
  // one part when whole, else each part's elements, flat).
  std::vector<kvs::shape> part_shapes(const key& k, const key_meta& m) const;

  void start_local(const config& cfg);
  void spawn_reducers();
  kvs::device place(const ndarray& value);
  void start_distributed(const config& cfg);
  // Ends every actor of ours and the actor system, in bounded time.
  void shut_down();
  bool distributed() const { return cluster_ != nullptr; }

  std::string type_;
  config cfg_;
  std::unique_ptr<cluster_member> cluster_;  // distributed stores only
  // What the coordinator watches to notice this worker die: its own small
  // actor, since a detached actor whose handle another node holds cannot
  // finish at shutdown.
  caf::actor liveness_;
  // The system refers to its config: both are left behind together when an
  // actor never ends (see shut_down).
  std::unique_ptr<caf::actor_system_config> sys_cfg_ = std::make_unique<caf::actor_system_config>();
  std::unique_ptr<caf::actor_system> system_;
  reducer_set reducers_;
  // device stores with GPUs: bytes of stored values placed on each GPU
  // (MXNet's CommDevice: each key to the GPU with the fewest bytes).
  std::vector<uint64_t> gpu_bytes_;
  std::vector<shard_actor> shards_;
  worker_actor worker_;
  updater_actor owned_updater_;  // the updater we spawned (function or optimizer), if any
  std::shared_ptr<const optimizer> optimizer_;  // set by set_optimizer
  bool has_updater_ = false;                     // set_optimizer or set_updater was called
  compression_setting compression_;              // set_gradient_compression
  std::shared_ptr<op_tracker> tracker_ = std::make_shared<op_tracker>();
  std::shared_ptr<telemetry> telemetry_;  // counters and the timeline
  mutable std::mutex meta_mtx_;
  std::unordered_map<key, key_meta, key_hash> keys_;
  bool warned_sparse_ = false;
};

template <class Reply, class... Ts>
Reply graph_store::ask_worker(const char* what, Ts&&... xs) {
  return blocking_request<Reply>(*system_, worker_, wait_bounds::store_to_worker(cfg_.request_timeout),
                                 what, std::forward<Ts>(xs)...);
}

}  // namespace kvs::detail
