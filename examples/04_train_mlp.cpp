// 04: data-parallel training with kvs::trainer. A two-layer perceptron
// learns the 8x8 handwritten digits (1437 training, 360 test images). Every
// global batch is cut into one slice per device of every worker; each device
// computes the gradient of its slice, the trainer sums them through the
// store and updates (sgd with momentum, rescale_grad 1/batch, a cosine
// learning-rate schedule). Loss and accuracy are measured on the whole
// training set with the synchronized weights, so local and dist_sync print
// the same curve (up to the order of float sums).
//
// Run:   ./build/examples/04_train_mlp                      (local, 4 devices)
//        ./build/examples/04_train_mlp --store device
//        ./build/tools/kvs-launch -n 2 -s 1 -- ./build/examples/04_train_mlp --store dist_sync
// Options: --epochs N (10) --batch N (32) --devices N (4) --hidden N (64)
//          --lr X (sgd 0.2, adam 0.01) --optimizer sgd|adam --update-on-kvstore 0|1 --data PATH
// Prints (worker rank 0; samples/s vary; dist_sync prints the same curve):
//   04_train_mlp: store local, 1 worker(s) x 4 device(s), batch 32, update_on_kvstore 1
//   epoch 1  loss 0.3598  train accuracy 88.31%  test accuracy 89.72%  samples/s 38530
//   ...
//   epoch 10  loss 0.0121  train accuracy 99.93%  test accuracy 97.22%  samples/s 73311
//   final test accuracy: 97.22%
//   store: 1768 operations, 33.9 MB out, 33.9 MB in, 1760 rounds
//     key "fc1_bias": 442 operations, 0.5 MB out, 0.5 MB in, 440 rounds
//     ... (one line per key: kvstore::stats())
// KVS_TIMELINE=trace.json writes a Chrome trace of every step (docs/training.md).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <kvs/kvs.hpp>

#include "mlp/digits.hpp"
#include "mlp/model.hpp"

namespace {

struct settings {
  std::string store = "local", data = KVS_DIGITS_CSV, optimizer = "sgd";
  int epochs = 10, batch = 32, devices = 4, hidden = 64, on_store = -1;
  double lr = -1;  // sgd: 0.2, adam: 0.01
};

settings parse(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      throw std::runtime_error("option " + a + " needs a value");
    std::string v = argv[++i];
    if (a == "--store") s.store = v;
    else if (a == "--data") s.data = v;
    else if (a == "--optimizer") s.optimizer = v;
    else if (a == "--epochs") s.epochs = std::stoi(v);
    else if (a == "--batch") s.batch = std::stoi(v);
    else if (a == "--devices") s.devices = std::stoi(v);
    else if (a == "--hidden") s.hidden = std::stoi(v);
    else if (a == "--lr") s.lr = std::stod(v);
    else if (a == "--update-on-kvstore") s.on_store = std::stoi(v);
    else throw std::runtime_error("unknown option " + a);
  }
  return s;
}

std::vector<const float*> views(const std::vector<kvs::ndarray>& arrays) {
  std::vector<const float*> out;
  for (auto& a : arrays)
    out.push_back(a.data<float>());
  return out;
}

// Loss and accuracy of the weights on device 0 over a whole data set.
std::pair<double, double> evaluate(const std::vector<kvs::ndarray>& w, int hidden,
                                   const mlp::dataset& d) {
  auto p = views(w);
  mlp::scratch s;
  double loss = 0;
  size_t right = 0;
  for (size_t n = 0; n < d.rows(); ++n) {
    loss += mlp::forward(p, hidden, d.row(n), d.y[n], s);
    right += mlp::argmax(s.p) == d.y[n] ? 1 : 0;
  }
  return {loss / static_cast<double>(d.rows()),
          100.0 * static_cast<double>(right) / static_cast<double>(d.rows())};
}

// Device k's gradient (a sum) of rows [from, to) of the batch.
void device_gradient(const std::vector<kvs::ndarray>& w, std::vector<kvs::ndarray>& g, int hidden,
                     const mlp::dataset& d, const std::vector<size_t>& rows) {
  std::vector<float*> gp;
  for (auto& a : g) {
    auto* p = a.data<float>();  // waits until the last push has read it
    std::fill(p, p + a.size(), 0.0f);
    gp.push_back(p);
  }
  auto wp = views(w);  // waits for the pulled weights
  mlp::scratch s;
  for (auto n : rows) {
    mlp::forward(wp, hidden, d.row(n), d.y[n], s);
    mlp::backward(wp, hidden, d.row(n), d.y[n], s, gp);
  }
}

std::string megabytes(uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.1f MB", static_cast<double>(bytes) / 1e6);
  return b;
}

using lists = std::vector<std::vector<kvs::ndarray>>;

// params[i][k]: parameter i on device k, all from the same seed (rank 0's
// values win in dist mode anyway); grads alike, zeros.
void make_model(const settings& s, lists& params, lists& grads) {
  params.assign(4, {});
  grads.assign(4, {});
  for (int k = 0; k < s.devices; ++k) {
    auto w = mlp::initial_params(s.hidden, kvs::cpu(k));
    for (size_t i = 0; i < w.size(); ++i) {
      params[i].push_back(w[i]);
      grads[i].push_back(kvs::ndarray::zeros(w[i].shape(), kvs::dtype::f32, kvs::cpu(k)));
    }
  }
}

// sgd with momentum (or adam); the learning rate falls to 0 along a cosine
// over the run's steps.
std::shared_ptr<kvs::optimizer> make_optimizer(const settings& s, size_t train_rows) {
  double steps_total = static_cast<double>(s.epochs) *
                       static_cast<double>(train_rows / static_cast<size_t>(s.batch));
  double lr = s.lr > 0 ? s.lr : s.optimizer == "adam" ? 0.01 : 0.2;
  std::map<std::string, double> numbers{{"learning_rate", lr},
                                        {"rescale_grad", 1.0 / s.batch},
                                        {"max_update", steps_total}};
  if (s.optimizer == "sgd")
    numbers["momentum"] = 0.9;
  return kvs::create_optimizer(s.optimizer, numbers, {{"lr_scheduler", "cosine"}});
}

// One epoch: every device computes its slice (rank, k) of each batch, then
// the trainer steps.
void run_epoch(const settings& s, int rank, int workers, const std::vector<size_t>& order,
               const mlp::dataset& tr, lists& params, lists& grads, kvs::trainer& trainer) {
  size_t slices = static_cast<size_t>(workers * s.devices), batch = static_cast<size_t>(s.batch);
  for (size_t b = 0; b < order.size() / batch; ++b) {
    for (int k = 0; k < s.devices; ++k) {
      size_t slice = static_cast<size_t>(rank * s.devices + k);
      std::vector<size_t> rows;
      for (size_t n = slice * batch / slices; n < (slice + 1) * batch / slices; ++n)
        rows.push_back(order[b * batch + n]);
      std::vector<kvs::ndarray> w, g;
      for (size_t i = 0; i < params.size(); ++i) {
        w.push_back(params[i][static_cast<size_t>(k)]);
        g.push_back(grads[i][static_cast<size_t>(k)]);
      }
      device_gradient(w, g, s.hidden, tr, rows);
    }
    trainer.step();
  }
}

void print_stats(const kvs::store_stats& st) {
  std::cout << "store: " << st.total.operations << " operations, "
            << megabytes(st.total.bytes_out) << " out, " << megabytes(st.total.bytes_in)
            << " in, " << st.total.rounds << " rounds" << std::endl;
  for (auto& [k, c] : st.keys)
    std::cout << "  key " << k.to_string() << ": " << c.operations << " operations, "
              << megabytes(c.bytes_out) << " out, " << megabytes(c.bytes_in) << " in, "
              << c.rounds << " rounds" << std::endl;
}

int train(const settings& s) {
  auto kv = kvs::create(s.store);  // dist_*: the cluster comes from DMLC_* variables
  int rank = kv->rank(), workers = kv->num_workers();
  mlp::dataset all = mlp::load_digits(s.data), tr, te;
  mlp::split(all, 1437, tr, te);
  lists params, grads;
  make_model(s, params, grads);
  kvs::trainer_options opts;
  opts.names = {"fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"};
  if (s.on_store >= 0)
    opts.update_on_kvstore = s.on_store != 0;
  kvs::trainer trainer(*kv, params, grads, make_optimizer(s, tr.rows()), opts);
  if (rank == 0)
    std::cout << "04_train_mlp: store " << s.store << ", " << workers << " worker(s) x "
              << s.devices << " device(s), batch " << s.batch << ", update_on_kvstore "
              << trainer.update_on_kvstore() << std::endl;
  std::vector<size_t> order(tr.rows());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::mt19937 rng(1);
  double test_acc = 0;
  for (int epoch = 1; epoch <= s.epochs; ++epoch) {
    for (size_t i = order.size() - 1; i > 0; --i)  // the same order on every worker
      std::swap(order[i], order[rng() % (i + 1)]);
    auto t0 = std::chrono::steady_clock::now();
    run_epoch(s, rank, workers, order, tr, params, grads, trainer);
    std::vector<kvs::ndarray> w0;
    for (auto& p : params)
      w0.push_back(p[0]);
    auto [loss, train_acc] = evaluate(w0, s.hidden, tr);  // waits for the last step
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    test_acc = evaluate(w0, s.hidden, te).second;
    size_t samples = order.size() / static_cast<size_t>(s.batch) * static_cast<size_t>(s.batch);
    char line[160];
    std::snprintf(line, sizeof(line),
                  "epoch %d  loss %.4f  train accuracy %.2f%%  test accuracy %.2f%%  "
                  "samples/s %.0f",
                  epoch, loss, train_acc, test_acc, static_cast<double>(samples) / secs);
    if (rank == 0)
      std::cout << line << std::endl;
  }
  kv->wait_all();
  if (rank == 0) {
    char line[64];
    std::snprintf(line, sizeof(line), "final test accuracy: %.2f%%", test_acc);
    std::cout << line << std::endl;
    print_stats(kv->stats());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return train(parse(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "04_train_mlp: " << e.what() << std::endl;
    return 1;
  }
}
