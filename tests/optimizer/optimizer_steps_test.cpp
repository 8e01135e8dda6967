// The first steps of each optimizer through the store, against constants
// derived by hand from MXNet's formulas (the derivation is in each comment).
#include <catch2/catch.hpp>

#include "../test_config.hpp"

using namespace kvs;
using Catch::Detail::Approx;

namespace {

// A store with key 0 = w0 and the optimizer set; each step pushes g once.
struct stepper {
  std::unique_ptr<kvstore> kv = create("local", test_config());
  stepper(const std::string& name, std::map<std::string, double> numbers, std::vector<float> w0) {
    kv->init(0, ndarray::from_vector<float>(w0, {static_cast<int64_t>(w0.size())}));
    kv->set_optimizer(create_optimizer(name, numbers));
  }
  std::vector<float> step(std::vector<float> g) {
    kv->push(0, ndarray::from_vector<float>(g, {static_cast<int64_t>(g.size())}));
    auto out = ndarray::zeros({static_cast<int64_t>(g.size())});
    kv->pull(0, out);
    return out.to_vector<float>();
  }
};

}  // namespace

TEST_CASE("default SGD after a push of ones gives -0.01 (the seed example)", "[optimizer]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::zeros({2, 2}));
  kv->set_optimizer(create_optimizer("sgd"));
  kv->push(3, ndarray::full({2, 2}, 1.0));
  auto weight = ndarray::zeros({2, 2});
  kv->pull(3, weight);
  REQUIRE(weight.to_vector<float>() == std::vector<float>(4, -0.01f));
}

TEST_CASE("sgd without momentum: w = (1 - lr*wd) w - lr clip(rescale g)", "[optimizer]") {
  // lr .5, wd .25, rescale 2, g .25: keep .875, r .5 -> 1*.875 - .25 = .625,
  // then .625*.875 - .25 = .296875.
  stepper t("sgd", {{"learning_rate", 0.5}, {"wd", 0.25}, {"rescale_grad", 2}}, {1});
  REQUIRE(t.step({0.25f}) == std::vector<float>{0.625f});
  REQUIRE(t.step({0.25f}) == std::vector<float>{0.296875f});
  // clip_gradient .25 cuts r = 1 to .25: .875 - .125 = .75.
  stepper c("sgd", {{"learning_rate", 0.5}, {"wd", 0.25}, {"clip_gradient", 0.25}}, {1});
  REQUIRE(c.step({1.0f}) == std::vector<float>{0.75f});
}

TEST_CASE("sgd with momentum: mom = m mom - lr wd w - lr g, then w += mom", "[optimizer]") {
  // m .5, lr .5, wd .5, g 1: mom -.25 - .5 = -.75, w .25; mom -.375 - .0625 - .5
  // = -.9375, w -.6875.
  stepper t("sgd", {{"learning_rate", 0.5}, {"momentum", 0.5}, {"wd", 0.5}}, {1});
  REQUIRE(t.step({1}) == std::vector<float>{0.25f});
  REQUIRE(t.step({1}) == std::vector<float>{-0.6875f});
}

TEST_CASE("nag: mom = m mom + g, then w -= lr (g + m mom)", "[optimizer]") {
  // m .5, lr .5, g 1: mom 1, w = 1 - .5*1.5 = .25; mom 1.5, w = .25 - .5*1.75 = -.625.
  stepper t("nag", {{"learning_rate", 0.5}, {"momentum", 0.5}}, {1});
  REQUIRE(t.step({1}) == std::vector<float>{0.25f});
  REQUIRE(t.step({1}) == std::vector<float>{-0.625f});
}

TEST_CASE("adam with bias correction steps by lr for a constant gradient", "[optimizer]") {
  // b1 .5, b2 .75, g 1: t=1 mean .5 var .25, lr_t = .1*sqrt(.25)/.5 = .1, w = 1 - .1*.5/.5
  // = .9 (eps 1e-8 aside); t=2 mean .75 var .4375, lr_t*m/sqrt(v) = .1: w = .8.
  stepper t("adam", {{"learning_rate", 0.1}, {"beta1", 0.5}, {"beta2", 0.75}}, {1});
  REQUIRE(t.step({1})[0] == Approx(0.9).epsilon(1e-6));
  REQUIRE(t.step({1})[0] == Approx(0.8).epsilon(1e-6));
}

TEST_CASE("adagrad: history += g^2, then w -= lr g / sqrt(history + eps)", "[optimizer]") {
  // lr .5, g 2: w = 1 - .5*2/sqrt(4) = .5; then .5 - .5*2/sqrt(8) = .1464466094.
  stepper t("adagrad", {{"learning_rate", 0.5}}, {1});
  REQUIRE(t.step({2})[0] == Approx(0.5).epsilon(1e-6));
  REQUIRE(t.step({2})[0] == Approx(0.1464466094).epsilon(1e-6));
}

TEST_CASE("rmsprop plain and centered", "[optimizer]") {
  // plain, gamma1 .5, lr .1, g 2: n = 2, w = 1 - .2/sqrt(2) = .8585786438;
  // n = 3, w -= .2/sqrt(3): .7431085899.
  stepper p("rmsprop", {{"learning_rate", 0.1}, {"gamma1", 0.5}}, {1});
  REQUIRE(p.step({2})[0] == Approx(0.8585786438).epsilon(1e-6));
  REQUIRE(p.step({2})[0] == Approx(0.7431085899).epsilon(1e-6));
  // centered, gamma1 .5, gamma2 .5: n 2, g_ 1, delta = -.1*2/sqrt(1) = -.2, w .8;
  // n 3, g_ 1.5, delta = -.1 - .2/sqrt(.75), w = .4690598923.
  stepper c("rmsprop", {{"learning_rate", 0.1}, {"gamma1", 0.5}, {"gamma2", 0.5}, {"centered", 1}},
            {1});
  REQUIRE(c.step({2})[0] == Approx(0.8).epsilon(1e-6));
  REQUIRE(c.step({2})[0] == Approx(0.4690598923).epsilon(1e-6));
}

TEST_CASE("signum: mom = m mom - (1-m) g, then w = (1 - lr wd_lh) w + lr sign(mom)", "[optimizer]") {
  // m .5, lr .25, wd_lh .5, g 3: mom -1.5, w = .875 - .25 = .625;
  // mom -2.25, w = .625*.875 - .25 = .296875.
  stepper t("signum", {{"learning_rate", 0.25}, {"momentum", 0.5}, {"wd_lh", 0.5}}, {1});
  REQUIRE(t.step({3}) == std::vector<float>{0.625f});
  REQUIRE(t.step({3}) == std::vector<float>{0.296875f});
  // momentum 0 (signsgd), wd .5: w = (1 - .125) - .25 = .625.
  stepper s("signum", {{"learning_rate", 0.25}, {"momentum", 0}, {"wd", 0.5}}, {1});
  REQUIRE(s.step({3}) == std::vector<float>{0.625f});
}

TEST_CASE("ftrl: z, n and the closed-form weight", "[optimizer]") {
  // lr .5, lamda1 .25, beta 1, w 0, g 1: z 1, n 1, w = (.25 - 1)/((1+1)/.5) = -.1875;
  // z = 2 + (sqrt 2 - 1)*.375 = 2.15533, n 2, w = (.25 - z)/((1 + sqrt 2)/.5) = -.3946067812.
  stepper t("ftrl", {{"learning_rate", 0.5}, {"lamda1", 0.25}}, {0});
  REQUIRE(t.step({1}) == std::vector<float>{-0.1875f});
  REQUIRE(t.step({1})[0] == Approx(-0.3946067812).epsilon(1e-6));
}

TEST_CASE("lamb scales the step by the trust ratio ||w|| / ||update||", "[optimizer]") {
  // b1 .5, b2 .75, w (3,4), g (1,1): mean_hat 1, var_hat 1, update 1/(1+1e-6) each;
  // ratio 5/(sqrt 2 * update); w -= .1 * ratio * update = w - .35355339: (2.6464466, 3.6464466).
  stepper t("lamb", {{"learning_rate", 0.1}, {"beta1", 0.5}, {"beta2", 0.75}}, {3, 4});
  auto w = t.step({1, 1});
  REQUIRE(w[0] == Approx(2.6464466094).epsilon(1e-6));
  REQUIRE(w[1] == Approx(3.6464466094).epsilon(1e-6));
}

TEST_CASE("the test optimizer with rescale_grad 2 and 4 devices adds 2 * 4 per push", "[optimizer]") {
  auto kv = create("local", test_config());
  kv->init(3, ndarray::zeros({2, 3}));
  kv->set_optimizer(create_optimizer("test", {{"rescale_grad", 2}}));
  std::vector<ndarray> grads;
  for (int d = 0; d < 4; ++d)
    grads.push_back(ndarray::full({2, 3}, 1.0, dtype::f32, cpu(d)));
  auto out = ndarray::zeros({2, 3});
  kv->push(3, grads);
  kv->pull(3, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>(6, 8.0f));
  kv->pushpull(3, grads, {out});
  REQUIRE(out.to_vector<float>() == std::vector<float>(6, 16.0f));
}

TEST_CASE("multi_precision keeps an fp32 master copy of f16 weights", "[optimizer]") {
  // lr 1, g 2^-12 four times: the master reaches 1 - 2^-10 = .9990234375, which
  // f16 holds; without it each f16 step 1 - 2^-12 rounds back to 1 (ties to even).
  for (double mp : {1.0, 0.0}) {
    auto kv = create("local", test_config());
    kv->init(0, ndarray::full({3}, 1.0, dtype::f16));
    kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 1}, {"multi_precision", mp}}));
    for (int i = 0; i < 4; ++i)
      kv->push(0, ndarray::full({3}, 1.0 / 4096, dtype::f16));
    auto out = ndarray::zeros({3}, dtype::f16);
    kv->pull(0, out);
    REQUIRE(out.to_vector<double>() == std::vector<double>(3, mp == 1.0 ? 0.9990234375 : 1.0));
  }
}

TEST_CASE("f64 weights update in double", "[optimizer]") {
  auto kv = create("local", test_config());
  kv->init(0, ndarray::full({2}, 1.0, dtype::f64));
  kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.5}, {"momentum", 0.5}, {"wd", 0.5}}));
  kv->push(0, ndarray::full({2}, 1.0, dtype::f64));
  kv->push(0, ndarray::full({2}, 1.0, dtype::f64));
  auto out = ndarray::zeros({2}, dtype::f64);
  kv->pull(0, out);
  REQUIRE(out.to_vector<double>() == std::vector<double>(2, -0.6875));
}

TEST_CASE("lazy_update touches only the rows of a row_sparse gradient", "[optimizer]") {
  // sgd momentum .5, lr .5, wd .5 on rows 1 and 3 of a 4x2 weight of ones: those
  // rows become .25 (see the momentum case), rows 0 and 2 stay 1 despite wd.
  auto kv = create("local", test_config());
  kv->init(0, ndarray::full({4, 2}, 1.0));
  kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.5}, {"momentum", 0.5}, {"wd", 0.5}}));
  kv->push(0, ndarray::row_sparse({4, 2}, {1, 3}, ndarray::full({2, 2}, 1.0)));
  auto out = ndarray::zeros({4, 2});
  kv->pull(0, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>{1, 1, .25f, .25f, 1, 1, .25f, .25f});
  // lazy_update 0: every row gets wd: rows without gradient: mom = -.25, w = .75.
  auto dense = create("local", test_config());
  dense->init(0, ndarray::full({4, 2}, 1.0));
  dense->set_optimizer(create_optimizer(
      "sgd", {{"learning_rate", 0.5}, {"momentum", 0.5}, {"wd", 0.5}, {"lazy_update", 0}}));
  dense->push(0, ndarray::row_sparse({4, 2}, {1, 3}, ndarray::full({2, 2}, 1.0)));
  dense->pull(0, out);
  REQUIRE(out.to_vector<float>() == std::vector<float>{.75f, .75f, .25f, .25f, .75f, .75f, .25f, .25f});
}

TEST_CASE("state is per key: two keys step independently", "[optimizer]") {
  auto kv = create("local", test_config());
  kv->init(std::vector<key>{"a", "b"}, {ndarray::full({1}, 1.0), ndarray::full({1}, 1.0)});
  kv->set_optimizer(create_optimizer("sgd", {{"learning_rate", 0.5}, {"momentum", 0.5}, {"wd", 0.5}}));
  kv->push("a", ndarray::full({1}, 1.0));
  kv->push("a", ndarray::full({1}, 1.0));
  kv->push("b", ndarray::full({1}, 1.0));
  auto a = ndarray::zeros({1}), b = ndarray::zeros({1});
  kv->pull(std::vector<key>{"a", "b"}, {a, b});
  REQUIRE(a.to_vector<float>()[0] == -0.6875f);
  REQUIRE(b.to_vector<float>()[0] == 0.25f);
}
