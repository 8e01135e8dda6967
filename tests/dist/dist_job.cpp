// The program the multi-process tests run under kvs-launch. Every process
// runs it; non-workers serve inside kvs::create. Modes (argv[1]):
//   rounds-int, rounds-string: exact dist_sync rounds on small and split keys
//   async:    dist_async totals
//   order:    Module's loop (per-device push, then pull) on small and split
//             keys, exact values every round (MXNet issue 8)
//   compression: 2bit with compressed pulls on a key split across the
//             servers, exact against the reference every round
//   ranks:    prints "rank R of N"
//   secure:   rounds-int, then rank 0 checks that a client without a
//             certificate (plain TCP) cannot reach the scheduler
//   exit3:    the worker of rank 1 exits with code 3
//   ckpt-straight DIR STEPS, ckpt-save DIR N, ckpt-resume DIR N STEPS:
//             restart from a checkpoint (checkpoint.hpp): an uninterrupted
//             run; a run that saves weights and optimizer states after N
//             steps, then dies (its workers vanish without a goodbye); a
//             run that loads both and goes on to STEPS, then
//             compares its weights with the uninterrupted run's, bit for bit
// A failed check prints what and exits 1.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <kvs/kvs.hpp>

#include "../compression_reference.hpp"
#include "checkpoint.hpp"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "dist_job: " << what << std::endl;
  std::exit(1);
}

void rounds(kvs::kvstore& kv, const std::vector<kvs::key>& keys) {
  std::vector<kvs::shape> shapes{{2, 3}, {1200, 1200}, {1211, 1211}};
  std::vector<kvs::ndarray> init;
  for (auto& s : shapes)
    init.push_back(kvs::ndarray::zeros(s));
  kv.init(keys, init);
  kv.set_optimizer(kvs::create_optimizer("test", {{"rescale_grad", 2}}));
  int n = kv.num_workers();
  for (int i = 1; i <= 4; ++i) {
    std::vector<kvs::ndarray> grads, outs;
    for (auto& s : shapes) {
      grads.push_back(kvs::ndarray::full(s, kv.rank() + 1));
      outs.push_back(kvs::ndarray::zeros(s));
    }
    kv.push(keys, grads);
    kv.pull(keys, outs);
    float want = static_cast<float>(i * n * (n + 1));
    for (size_t k = 0; k < outs.size(); ++k) {
      auto v = outs[k].to_vector<float>();
      for (size_t j = 0; j < v.size(); j += 997)
        if (v[j] != want)
          fail("round " + std::to_string(i) + " key " + keys[k].to_string() + " element " +
               std::to_string(j) + " is " + std::to_string(v[j]) + ", expected " +
               std::to_string(want));
      if (v.back() != want)
        fail("last element of key " + keys[k].to_string() + " is wrong");
    }
  }
  std::cout << "rank " << kv.rank() << ": rounds ok" << std::endl;
}

// Module's update_on_kvstore loop: for every parameter i, push its gradients
// from 4 devices (rank + 1 each) with priority -i, then pull the weights into
// 4 devices; with the test optimizer a round adds 4 * n * (n + 1) / 2.
void module_order(kvs::kvstore& kv) {
  std::vector<kvs::shape> shapes{{2, 3}, {1200, 1200}};  // the second split across servers
  std::vector<kvs::key> keys{0, 1};
  kv.init(keys, {kvs::ndarray::zeros(shapes[0]), kvs::ndarray::zeros(shapes[1])});
  kv.set_optimizer(kvs::create_optimizer("test", {{"rescale_grad", 1}}));
  int n = kv.num_workers(), rounds = 5;
  size_t checked = 0;
  for (int r = 1; r <= rounds; ++r) {
    std::vector<std::vector<kvs::ndarray>> weights(keys.size());
    for (size_t k = 0; k < keys.size(); ++k) {
      std::vector<kvs::ndarray> grads;
      for (int d = 0; d < 4; ++d) {
        grads.push_back(kvs::ndarray::full(shapes[k], kv.rank() + 1, kvs::dtype::f32, kvs::cpu(d)));
        weights[k].push_back(kvs::ndarray::zeros(shapes[k], kvs::dtype::f32, kvs::cpu(d)));
      }
      int priority = -static_cast<int>(k);
      kv.push(keys[k], grads, priority);
      kv.pull(keys[k], weights[k], priority);
    }
    float want = static_cast<float>(r * 4 * n * (n + 1) / 2);
    for (size_t k = 0; k < keys.size(); ++k)
      for (size_t d = 0; d < weights[k].size(); ++d) {
        auto v = weights[k][d].to_vector<float>();
        for (size_t j = 0; j < v.size(); ++j)
          if (v[j] != want)
            fail("order: round " + std::to_string(r) + " key " + keys[k].to_string() +
                 " device " + std::to_string(d) + " element " + std::to_string(j) + " is " +
                 std::to_string(v[j]) + ", expected " + std::to_string(want));
        checked += v.size();
      }
  }
  kv.barrier();  // as MXNet's store does before it exits
  std::cout << "rank " << kv.rank() << ": order ok, " << rounds << " rounds of keys 0 (2x3) and "
            << "1 (1200x1200, split), 4 devices, " << checked << " values checked, last "
            << rounds * 4 * n * (n + 1) / 2 << std::endl;
}

int arg_int(int argc, char** argv, int i) {
  if (i >= argc)
    fail("missing argument " + std::to_string(i));
  return std::stoi(argv[i]);
}

std::string fnv1a_text(const std::vector<std::vector<float>>& w) {
  std::ostringstream out;
  out << std::hex << checkpoint::hash(w);
  return out.str();
}

// The checkpoint modes; rank 0 reads and writes the files in dir.
void checkpoint_job(kvs::kvstore& kv, const std::string& mode, int argc, char** argv) {
  if (argc < 3)
    fail("missing DIR");
  std::string dir = argv[2];
  int n = arg_int(argc, argv, 3);
  auto start = mode == "ckpt-resume"
                   ? checkpoint::as_arrays(checkpoint::read_weights(dir + "/saved.weights"))
                   : checkpoint::starting_weights();
  kv.init(checkpoint::keys(), start);
  kv.set_optimizer(checkpoint::adam());
  int first = 1, last = n;
  if (mode == "ckpt-resume") {
    kv.load_optimizer_states(dir + "/saved.states");  // with the optimizer: every worker
    first = n + 1;
    last = arg_int(argc, argv, 4);
  }
  checkpoint::run_steps(kv, first, last);
  auto w = checkpoint::pull_weights(kv);
  if (kv.rank() == 0) {
    std::string said = "rank 0: " + mode + " ran steps " + std::to_string(first) + " to " +
                       std::to_string(last) + ", weights fnv1a " + fnv1a_text(w);
    if (mode == "ckpt-straight") {
      checkpoint::write_weights(dir + "/straight.weights", w);
    } else if (mode == "ckpt-save") {
      checkpoint::write_weights(dir + "/saved.weights", w);
      kv.save_optimizer_states(dir + "/saved.states", true);
    } else {
      auto want = checkpoint::read_weights(dir + "/straight.weights");
      if (w != want)
        fail(said + ", but the uninterrupted run has " + fnv1a_text(want));
      said += ", equal to the uninterrupted run bit for bit";
    }
    std::cout << said << std::endl;
  }
  kv.barrier();
}

// A client of the scheduler's address without TLS: refused at connect time.
void plain_client_refused(const kvs::kvstore& kv) {
  if (kv.rank() != 0)
    return;
  caf::actor_system_config sc;
  sc.load<caf::io::middleman>();
  sc.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{sc};
  auto port = static_cast<uint16_t>(std::stoi(std::getenv("DMLC_PS_ROOT_PORT")));
  auto h = sys.middleman().remote_actor(std::getenv("DMLC_PS_ROOT_URI"), port);
  // A wrong interface means the handshake went through: it got in.
  if (h || h.error() == caf::sec::unexpected_actor_messaging_interface)
    fail("a client without a certificate reached the scheduler");
  std::cout << "rank 0: a client without a certificate is refused by the scheduler ("
            << sys.render(h.error()) << ")" << std::endl;
}

}  // namespace

// Each worker pushes values of mixed signs around the threshold 0.5 (exact
// sums); both directions are packed (2bit), the residuals make every round
// differ; each worker knows every worker's gradient, so it knows the sum.
void compression_job(kvs::kvstore& kv) {
  kvs::compression c{"2bit", 0.5};
  c.compress_pull = true;
  kv.set_gradient_compression(c);
  const size_t n = 1003;
  kv.init(1, kvs::ndarray::zeros({1003}));
  auto grad = [](int w, int round, size_t i) {
    return static_cast<float>(static_cast<int>((i * 7 + 3 * w + 5 * round) % 13) - 6) * 0.125f;
  };
  int workers = kv.num_workers();
  std::vector<std::vector<float>> push_residual(workers, std::vector<float>(n, 0.0f));
  std::vector<float> pull_residual(n, 0.0f);
  auto out = kvs::ndarray::zeros({1003});
  for (int round = 0; round < 5; ++round) {
    std::vector<float> sum(n, 0.0f), mine(n);
    for (int w = 0; w < workers; ++w) {
      std::vector<float> g(n);
      for (size_t i = 0; i < n; ++i)
        g[i] = grad(w, round, i);
      if (w == kv.rank())
        mine = g;
      auto sent = ref::send("2bit", g, push_residual[static_cast<size_t>(w)], 0.5f);
      for (size_t i = 0; i < n; ++i)
        sum[i] += sent[i];
    }
    kv.pushpull(1, kvs::ndarray::from_vector(mine, {1003}), out);
    if (out.to_vector<float>() != ref::send("2bit", sum, pull_residual, 0.5f))
      fail("compression: round " + std::to_string(round) + " differs from the reference");
  }
  std::cout << "rank " << kv.rank() << ": compression ok" << std::endl;
}

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "rounds-int";
  bool ckpt = mode.rfind("ckpt-", 0) == 0;
  if (ckpt) {  // split keys 1 and 2 across the servers
    ::setenv("MXNET_KVSTORE_BIGARRAY_BOUND", std::to_string(checkpoint::bigarray_bound).c_str(), 1);
    if (argc > 2)
      std::filesystem::create_directories(argv[2]);
  }
  if (mode == "compression")  // split key 1 across the servers
    ::setenv("MXNET_KVSTORE_BIGARRAY_BOUND", "100", 1);
  auto kv = kvs::create(mode == "async" ? "dist_async" : "dist_sync");
  if (ckpt) {
    checkpoint_job(*kv, mode, argc, argv);
    if (mode == "ckpt-save") {  // the job dies: no worker says goodbye
      std::cout.flush();
      std::_Exit(0);
    }
    return 0;
  }
  if (mode == "rounds-int") {
    rounds(*kv, {1, 2, 3});
  } else if (mode == "secure") {
    rounds(*kv, {1, 2, 3});
    plain_client_refused(*kv);
  } else if (mode == "rounds-string") {
    rounds(*kv, {"embedding", "fc1", "fc2"});
  } else if (mode == "async") {
    kv->init(0, kvs::ndarray::zeros({1000}));
    kv->set_optimizer(kvs::create_optimizer("test", {{"rescale_grad", 1}}));
    for (int i = 0; i < 50; ++i)
      kv->push(0, kvs::ndarray::full({1000}, kv->rank() + 1));
    kv->wait_all();
    kv->barrier();
    auto out = kvs::ndarray::zeros({1000});
    kv->pull(0, out);
    int n = kv->num_workers();
    float want = 50.0f * static_cast<float>(n * (n + 1) / 2);
    if (out.to_vector<float>()[999] != want)
      fail("async total is " + std::to_string(out.to_vector<float>()[999]) + ", expected " +
           std::to_string(want));
    std::cout << "rank " << kv->rank() << ": async ok" << std::endl;
  } else if (mode == "order") {
    module_order(*kv);
  } else if (mode == "compression") {
    compression_job(*kv);
  } else if (mode == "ranks") {
    std::cout << "rank " << kv->rank() << " of " << kv->num_workers() << std::endl;
  } else if (mode == "exit3") {
    kv->barrier();
    if (kv->rank() == 1)
      std::exit(3);
    try {
      kv->barrier();  // rank 1 never arrives: the coordinator fails the barrier
    } catch (const kvs::error& e) {
      std::cout << "rank 0: " << e.what() << std::endl;
    }
  } else {
    fail("unknown mode " + mode);
  }
  return 0;
}
