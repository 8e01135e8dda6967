#pragma once
// The store: the public surface of mx.kv. The overloads check and normalize
// their arguments into list form and call one protected hook per operation;
// backends (register_kvstore) derive from kvstore and override the hooks.
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kvs/config.hpp"
#include "kvs/error.hpp"
#include "kvs/key.hpp"
#include "kvs/ndarray.hpp"
#include "kvs/optimizer.hpp"
#include "kvs/stats.hpp"
#include "kvs/updater_actor.hpp"

namespace caf {
class actor_system;
}

namespace kvs {

// A function updater runs one call at a time; it must not call the store.
using updater = std::function<void(const key&, const ndarray& recv, ndarray& stored)>;

struct compression {  // "2bit", "1bit", "fp16" (docs/compression.md)
  std::string type;
  double threshold = 0.5;
  // Beyond MXNet: the store also compresses what pulls send back (with its
  // own residual per key and worker); only where no optimizer runs in the store.
  bool compress_pull = false;
};

class kvstore {
public:
  using key_list = std::vector<key>;
  using array_list = std::vector<ndarray>;
  using array_lists = std::vector<std::vector<ndarray>>;

  kvstore(const kvstore&) = delete;
  kvstore& operator=(const kvstore&) = delete;
  virtual ~kvstore();

  void init(const key&, const ndarray&);
  void init(const key_list&, const array_list&);

  void push(const key&, const ndarray&, int priority = 0);
  void push(const key&, const array_list& per_device, int priority = 0);
  void push(const key_list&, const array_list&, int priority = 0);
  void push(const key_list&, const array_lists&, int priority = 0);

  void pull(const key&, const ndarray& out, int priority = 0, bool ignore_sparse = true);
  void pull(const key&, const array_list& outs, int priority = 0, bool ignore_sparse = true);
  void pull(const key_list&, const array_list& outs, int priority = 0,
            bool ignore_sparse = true);
  void pull(const key_list&, const array_lists& outs, int priority = 0,
            bool ignore_sparse = true);

  void pushpull(const key&, const ndarray& value, const ndarray& out, int priority = 0);
  void pushpull(const key&, const array_list& values, const array_list& outs,
                int priority = 0);
  void pushpull(const key&, const ndarray& value_in_place, int priority = 0);
  void pushpull(const key&, const array_list& values_in_place, int priority = 0);
  void pushpull(const key_list&, const array_list& values, const array_list& outs,
                int priority = 0);
  void pushpull(const key_list&, const array_lists& values, const array_lists& outs,
                int priority = 0);
  void pushpull(const key_list&, const array_list& values_in_place, int priority = 0);
  void pushpull(const key_list&, const array_lists& values_in_place, int priority = 0);

  void broadcast(const key&, const ndarray& value, const ndarray& out, int priority = 0);
  void broadcast(const key&, const ndarray& value, const array_list& outs, int priority = 0);
  void broadcast(const key_list&, const array_list& values, const array_list& outs,
                 int priority = 0);
  void broadcast(const key_list&, const array_list& values, const array_lists& outs,
                 int priority = 0);

  void row_sparse_pull(const key&, const ndarray& out, const ndarray& row_ids,
                       int priority = 0);
  void row_sparse_pull(const key&, const array_list& outs, const array_list& row_ids,
                       int priority = 0);

  void set_optimizer(std::shared_ptr<optimizer>);
  void set_updater(updater);
  void set_updater(updater_actor);
  void set_gradient_compression(const compression&);
  void save_optimizer_states(const std::string& path, bool dump_optimizer = false);
  void load_optimizer_states(const std::string& path);
  void barrier();
  void send_command_to_servers(int head, const std::string& body);
  void wait_all();  // everything issued so far is done
  std::string type() const;
  int rank() const;
  int num_workers() const;
  int local_rank() const;
  bool is_capable(const std::string& capability) const;  // "optimizer", ...
  // Counters of this store's operations, per key and in total (kvs/stats.hpp).
  store_stats stats() const;
  caf::actor_system& system();  // the actor system the store runs in

protected:
  kvstore();

  // Hooks, each taking the list form: keys[i] goes with values[i] (the
  // per-device arrays of that key). Keys may repeat. Arguments arrive checked
  // for counts, none arrays and key kinds.
  virtual void do_init(const key_list& keys, const array_list& values) = 0;
  virtual void do_push(const key_list& keys, const array_lists& values, int priority) = 0;
  virtual void do_pull(const key_list& keys, const array_lists& outs, int priority,
                       bool ignore_sparse) = 0;
  virtual void do_pushpull(const key_list& keys, const array_lists& values,
                           const array_lists& outs, int priority) = 0;
  // Default: init, then pull (MXNet's definition of broadcast).
  virtual void do_broadcast(const key_list& keys, const array_list& values,
                            const array_lists& outs, int priority);
  virtual void do_row_sparse_pull(const key_list& keys, const array_lists& outs,
                                  const array_lists& row_ids, int priority);
  virtual void do_set_optimizer(std::shared_ptr<optimizer> opt);
  virtual void do_set_updater(updater fn);
  virtual void do_set_updater_actor(updater_actor handle);
  virtual void do_set_gradient_compression(const compression& params);
  virtual void do_save_optimizer_states(const std::string& path, bool dump_optimizer);
  virtual void do_load_optimizer_states(const std::string& path);
  virtual void do_barrier();  // default: nothing to wait for (one worker)
  virtual void do_send_command_to_servers(int head, const std::string& body);
  virtual void do_wait_all() = 0;
  virtual std::string do_type() const = 0;
  virtual int do_rank() const;         // default 0
  virtual int do_num_workers() const;  // default 1
  virtual int do_local_rank() const;   // default 0
  // Default: "optimizer" false; unknown names throw invalid_argument.
  virtual bool do_is_capable(const std::string& capability) const;
  virtual store_stats do_stats() const;  // none counted
  // Default: a small actor system owned by this object, made on first use.
  virtual caf::actor_system& do_system();

  // The capabilities every store answers for, in the order error messages list.
  static const std::vector<std::string>& known_capabilities();

private:
  void check_key_kind(const key_list& keys);
  std::mutex kind_mtx_;
  std::optional<bool> int_keys_;  // the kind of key this store uses, once seen
  struct owned_system;
  std::unique_ptr<owned_system> own_system_;
};

std::unique_ptr<kvstore> create(const std::string& type = "local", const config& = {});
void register_kvstore(const std::string& name,
                      std::function<std::unique_ptr<kvstore>(const config&)> factory);
// The store types create() accepts: built-in and registered names.
std::vector<std::string> kvstore_types();

// Runs a server or the scheduler (cfg.role) until the job ends.
void serve(const config&);

}  // namespace kvs
