// The program the multi-process tests run under kvs-launch. Every process
// runs it; non-workers serve inside kvs::create. Modes (argv[1]):
//   rounds-int, rounds-string: exact dist_sync rounds on small and split keys
//   async:    dist_async totals
//   ranks:    prints "rank R of N"
//   exit3:    the worker of rank 1 exits with code 3
// A failed check prints what and exits 1.
#include <cstdlib>
#include <iostream>

#include <kvs/kvs.hpp>

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

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "rounds-int";
  auto kv = kvs::create(mode == "async" ? "dist_async" : "dist_sync");
  if (mode == "rounds-int") {
    rounds(*kv, {1, 2, 3});
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
