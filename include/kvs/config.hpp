#pragma once
// Configuration of a store or a distributed node. Every field has a default;
// fields left unset are filled from the environment when the store is
// created (see docs/configuration.md for the table of variables).
#include <chrono>
#include <cstdint>
#include <string>

namespace kvs {

struct config {
  // How long one request may wait for its answer (KVS_REQUEST_TIMEOUT, in
  // milliseconds, replaces the default when this field is left at 30 s).
  std::chrono::milliseconds request_timeout{30000};
  int scheduler_threads = 0;  // 0: one per core (KVS_SCHEDULER_THREADS)
  std::string role;           // "worker", "server", "scheduler" (DMLC_ROLE)
  std::string root_uri;       // coordinator host (DMLC_PS_ROOT_URI)
  int root_port = 0;          // coordinator port (DMLC_PS_ROOT_PORT)
  int num_workers = 0;        // DMLC_NUM_WORKER
  int num_servers = 0;        // DMLC_NUM_SERVER
  std::string node_host;      // address to bind and advertise (DMLC_NODE_HOST;
                              // else the address of DMLC_INTERFACE; else 127.0.0.1)
  std::string interface;      // network interface to bind (DMLC_INTERFACE), e.g. "lo"
  // Middleman heartbeat between nodes; a peer silent for heartbeat_timeout
  // is declared down. 0: PS_HEARTBEAT_INTERVAL / PS_HEARTBEAT_TIMEOUT
  // (seconds, as ps-lite reads them) or 1 s and 30 s. A killed peer is
  // noticed at once (its connections close); the timeout only finds frozen
  // ones, so it must be generous: a busy peer (its middleman thread
  // (de)serializing big messages on a loaded machine) is silent for seconds.
  std::chrono::milliseconds heartbeat_interval{0};
  std::chrono::milliseconds heartbeat_timeout{0};
  // Messages carry at most this many tensor bytes; bigger parts go in
  // chunks. 0: KVS_MAX_MESSAGE_BYTES or 16 MiB.
  int64_t max_message_bytes = 0;
  // The most bytes one array in a message from another process may claim;
  // a bigger claim is refused before anything is allocated for it.
  // 0: KVS_MAX_RECEIVE_BYTES or 1 GiB (at least max_message_bytes).
  int64_t max_receive_bytes = 0;
  // Bytes of operations in flight per worker (one bigger operation may still
  // go alone). 0: KVS_MAX_INFLIGHT_BYTES or 128 MiB.
  int64_t max_inflight_bytes = 0;

  // Arrays with at least this many elements are split across servers and
  // reduced with several threads; 0: MXNET_KVSTORE_BIGARRAY_BOUND or 1000000.
  int64_t bigarray_bound = 0;
  // Threads of the CPU reducer for big arrays; 0:
  // MXNET_KVSTORE_REDUCTION_NTHREADS or 4.
  int reduction_threads = 0;
  // Key-shard actors of an in-process store; 0: KVS_LOCAL_SHARDS or 4.
  int local_shards = 0;
  // Operations dispatched and not yet answered, across keys; 0:
  // KVS_MAX_INFLIGHT or 1024. Ready operations wait, highest priority first;
  // those dispatched together to one shard travel in one message.
  int max_inflight = 0;
  // Arrays up to this many elements are summed and copied by the shard
  // itself instead of a message to the reducer; -1: KVS_INLINE_BOUND or 16384.
  int64_t inline_bound = -1;
  // Bounded waits (docs/distributed.md, "Failures"). 0 (the default) means:
  // the variable, else the default named.
  // How long a node waits for the cluster at start-up: the scheduler for
  // every worker and server to register (then it exits, naming the missing
  // ones), a worker or server for the scheduler to answer.
  // KVS_STARTUP_TIMEOUT (milliseconds), else request_timeout.
  std::chrono::milliseconds startup_timeout{0};
  // How long a barrier waits for every worker before it fails naming the
  // ranks that never arrived. KVS_BARRIER_TIMEOUT (milliseconds), else 10 x
  // request_timeout.
  std::chrono::milliseconds barrier_timeout{0};
  // A wait longer than this is reported in the log, naming what it waits
  // for (the ranks of a barrier, the nodes not yet registered, the workers a
  // round waits for), and again each time as long again passes.
  // KVS_STALL_WARNING (seconds), else 60 s.
  std::chrono::milliseconds stall_warning{0};

  // How tensor bytes move between processes (docs/distributed.md, "Two
  // planes"): "shm" (shared memory with every server; a server it cannot
  // share memory with is invalid_config), "caf" (in CAF's messages), or
  // "auto" (shared memory with servers proven on this host, CAF with the
  // others; one info line per server says which and why). KVS_TRANSPORT,
  // else auto. "ucx" is refused: that plane is not shipped.
  std::string transport;
  // Parts of at least this many bytes go through shared memory; smaller
  // ones in the message. KVS_SHM_MIN_BYTES, else 4 KiB.
  int64_t shm_min_bytes = 0;
  // A worker's shared memory segment: the bytes of all its parts in flight
  // at once (a part that does not fit goes in its message).
  // KVS_SHM_BYTES, else 256 MiB (memory is used only as it is touched).
  int64_t shm_bytes = 0;
  // The process's arena for big host arrays (docs/distributed.md, "Arrays
  // in shared memory"): arrays of at least shm_min_bytes allocated after a
  // worker store using shared memory is created live in it, and servers on
  // this host read and write them in place (no copy). Its size: the first
  // store of a process sets it. KVS_SHM_ARENA_BYTES, else 4 GiB (memory is
  // used only as it is touched); 0: off (this store copies as before).
  int64_t shm_arena_bytes = -1;

  // Observability (docs/training.md). The log's level: "debug", "info" or
  // "warn" (KVS_LOG; default warn); anything else is invalid_config.
  std::string log_level;
  // A Chrome trace of every operation's stages, written when the store or
  // node ends (KVS_TIMELINE; empty: none). Nodes of a distributed job write
  // the role and rank before the extension: trace.worker0.json.
  std::string timeline;

  // Mutual TLS on every connection between the nodes of a job
  // (docs/security.md). 1: on, 0: off; -1 (unset): KVS_SECURE, else on
  // whenever this node binds or reaches an address other than loopback
  // (node_host or root_uri outside 127.0.0.0/8, ::1 and localhost).
  int secure = -1;
  // With secure on, all three are required: this node's certificate and
  // its private key (PEM files, KVS_TLS_CERT, KVS_TLS_KEY), and the job's
  // authority (KVS_TLS_CA): only peers holding a certificate it signed may
  // connect. kvs-launch creates them for every job.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;

  // When false, nothing is read from the environment (tests set this).
  bool read_environment = true;

  // Fills every unset field from the environment (when read_environment) and
  // then from the defaults. A malformed variable throws kvs::error
  // (invalid_config) naming the variable and its value.
  config resolved() const;
  // resolved(), then checks that the cluster fields a distributed node needs
  // are present and valid; a missing or bad one throws invalid_config naming
  // the variable (and the field).
  config resolved_cluster() const;
};

}  // namespace kvs
