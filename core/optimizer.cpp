// create_optimizer: names, defaults and checks; optimizer::update: dtype
// handling, multi-precision and lazy rows around the rules of optimizer_math.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/array_impl.hpp"
#include "core/element.hpp"
#include "core/lr_schedule.hpp"
#include "core/optimizer_math.hpp"
#include "core/optimizer_state_layout.hpp"
#include "core/row_ops.hpp"
#include "kvs/error.hpp"
#include "kvs/optimizer.hpp"

namespace kvs {

namespace {

using detail::opt_kind;

struct optimizer_spec {
  opt_kind kind;
  std::map<std::string, double> defaults;  // its own numbers, learning_rate included
};

const std::map<std::string, optimizer_spec>& specs() {
  static const std::map<std::string, optimizer_spec> table{
      {"sgd", {opt_kind::sgd, {{"learning_rate", 0.01}, {"momentum", 0}, {"lazy_update", 1}}}},
      {"nag", {opt_kind::nag, {{"learning_rate", 0.01}, {"momentum", 0}}}},
      {"adam",
       {opt_kind::adam,
        {{"learning_rate", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8},
         {"lazy_update", 1}}}},
      {"adagrad", {opt_kind::adagrad, {{"learning_rate", 0.01}, {"epsilon", 1e-7}}}},
      {"rmsprop",
       {opt_kind::rmsprop,
        {{"learning_rate", 0.001}, {"gamma1", 0.9}, {"gamma2", 0.9}, {"epsilon", 1e-8},
         {"centered", 0}, {"clip_weights", -1}}}},
      {"signum", {opt_kind::signum, {{"learning_rate", 0.01}, {"momentum", 0.9}, {"wd_lh", 0}}}},
      {"ftrl", {opt_kind::ftrl, {{"learning_rate", 0.1}, {"lamda1", 0.01}, {"beta", 1}}}},
      {"lamb",
       {opt_kind::lamb,
        {{"learning_rate", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-6},
         {"lower_bound", -1}, {"upper_bound", -1}, {"bias_correction", 1}}}},
      {"test", {opt_kind::test, {{"learning_rate", 0.01}}}},
  };
  return table;
}

// Numbers every optimizer takes: the common ones and the scheduler's.
const std::map<std::string, double>& common_defaults() {
  static const std::map<std::string, double> table{
      {"wd", 0}, {"rescale_grad", 1}, {"clip_gradient", -1}, {"multi_precision", 0},
      {"step", 0}, {"factor", 1}, {"stop_factor_lr", 1e-8}, {"max_update", 0}, {"pwr", 2},
      {"final_lr", 0}, {"warmup_steps", 0}, {"warmup_begin_lr", 0},
  };
  return table;
}

const std::vector<std::string>& option_names() {
  static const std::vector<std::string> names{"lr_scheduler", "step", "warmup_mode"};
  return names;
}

template <class Map>
std::string keys_of(const Map& m) {
  std::string out;
  for (auto& [k, v] : m)
    out += (out.empty() ? "" : ", ") + k;
  return out;
}

[[noreturn]] void bad(const std::string& name, const std::string& what) {
  throw error(errc::invalid_argument, "optimizer \"" + name + "\": " + what);
}

void check_range(const std::string& name, const std::map<std::string, double>& n) {
  auto in = [&](const char* k, double lo, double hi, bool hi_open) {
    auto i = n.find(k);
    if (i == n.end())
      return;
    double v = i->second;
    if (!std::isfinite(v) || v < lo || v > hi || (hi_open && v == hi))
      bad(name, std::string(k) + " = " + std::to_string(v) + " is outside [" + std::to_string(lo) +
                    ", " + std::to_string(hi) + (hi_open ? ")" : "]"));
  };
  const double big = 1e300;
  in("learning_rate", 0, big, false);
  in("wd", 0, big, false);
  in("rescale_grad", -big, big, false);
  in("clip_gradient", -1, big, false);
  in("momentum", 0, 1, true);
  in("beta1", 0, 1, true);
  in("beta2", 0, 1, true);
  in("gamma1", 0, 1, true);
  in("gamma2", 0, 1, false);
  in("epsilon", 0, big, false);
  for (auto flag : {"multi_precision", "lazy_update", "centered", "bias_correction"}) {
    auto i = n.find(flag);
    if (i != n.end() && i->second != 0 && i->second != 1)
      bad(name, std::string(flag) + " must be 0 or 1");
  }
  if (n.count("epsilon") && n.at("epsilon") == 0)
    bad(name, "epsilon must be positive");
  if (name == "ftrl" && n.at("learning_rate") == 0)
    bad(name, "learning_rate must be positive (ftrl divides by it)");
}

detail::opt_scalars scalars_of(const optimizer& o, double lr, uint64_t t) {
  auto& n = o.numbers();
  auto get = [&](const char* k, double fallback) {
    auto i = n.find(k);
    return i == n.end() ? fallback : i->second;
  };
  detail::opt_scalars p;
  p.lr = lr;
  p.wd = get("wd", 0);
  p.rescale = get("rescale_grad", 1);
  p.clip = get("clip_gradient", -1);
  p.momentum = get("momentum", 0);
  p.beta1 = get("beta1", 0.9);
  p.beta2 = get("beta2", 0.999);
  p.epsilon = get("epsilon", 1e-8);
  p.gamma1 = get("gamma1", 0.9);
  p.gamma2 = get("gamma2", 0.9);
  p.clip_weights = get("clip_weights", -1);
  p.lamda1 = get("lamda1", 0.01);
  p.beta = get("beta", 1);
  p.wd_lh = get("wd_lh", 0);
  p.lower_bound = get("lower_bound", -1);
  p.upper_bound = get("upper_bound", -1);
  p.centered = get("centered", 0) != 0;
  p.bias_correction = get("bias_correction", 1) != 0;
  p.t = t;
  if (o.name() == "adam") {  // Adam.update: lr *= sqrt(1 - beta2^t) / (1 - beta1^t)
    double c1 = 1. - std::pow(p.beta1, static_cast<double>(t));
    double c2 = 1. - std::pow(p.beta2, static_cast<double>(t));
    p.lr = lr * std::sqrt(c2) / c1;
  }
  return p;
}

// Runs the rule on T arrays (float or double) over all elements or rows.
// `compact`: g holds only the rows, one after another (a row_sparse
// gradient's), so the rule gets pointers to each row's start.
// `out` (compact only): each updated row is also copied there, one after
// another, while it is still in cache.
template <class T>
void run_rule(const detail::opt_rule& rule, const detail::opt_scalars& p, T* w, const T* g,
              std::vector<T*>& s, size_t n, const std::vector<int64_t>* rows, size_t row_len,
              bool compact = false, T* out = nullptr) {
  auto fn = rule.fn<T>();
  if (rows == nullptr) {
    fn(p, w, g, s.data(), 0, n);
    return;
  }
  std::vector<T*> at(s.size());
  for (size_t i = 0; i < rows->size(); ++i) {
    if (i + detail::row_prefetch_distance < rows->size()) {  // weight and state rows ahead
      auto ahead = static_cast<size_t>((*rows)[i + detail::row_prefetch_distance]) * row_len;
      detail::prefetch_row(w + ahead, row_len * sizeof(T), true);
      for (auto* state : s)
        detail::prefetch_row(state + ahead, row_len * sizeof(T), true);
    }
    auto first = static_cast<size_t>((*rows)[i]) * row_len;
    if (!compact) {
      fn(p, w, g, s.data(), first, first + row_len);
      continue;
    }
    for (size_t k = 0; k < s.size(); ++k)
      at[k] = s[k] + first;
    fn(p, w + first, g + i * row_len, at.data(), 0, row_len);
    if (out != nullptr)
      std::memcpy(out + i * row_len, w + first, row_len * sizeof(T));
  }
}

template <class T>
std::vector<T*> pointers(std::vector<ndarray>& arrays, uint32_t count) {
  std::vector<T*> out;
  for (uint32_t i = 0; i < count; ++i)
    out.push_back(static_cast<T*>(detail::ndarray_access::raw(arrays[i])));
  return out;
}

std::vector<float> widen(const ndarray& a) { return a.to_vector<float>(); }

void narrow_into(const std::vector<float>& src, ndarray& dst) {
  void* base = detail::ndarray_access::raw(dst);
  for (size_t i = 0; i < src.size(); ++i)
    detail::store_element(base, dst.dtype(), i, src[i]);
}

// The arrays update() is given must be the key's state layout: it writes
// through raw pointers of the layout's dtypes.
void check_state(const std::string& name, const std::vector<detail::state_array_layout>& layout,
                 const std::vector<ndarray>& state) {
  if (state.size() != layout.size())
    throw error(errc::invalid_argument, "optimizer \"" + name + "\" expects " +
                                            std::to_string(layout.size()) + " state arrays, got " +
                                            std::to_string(state.size()));
  for (size_t i = 0; i < state.size(); ++i)
    if (state[i].dtype() != layout[i].type || state[i].shape() != layout[i].shape)
      bad(name, "state " + std::to_string(i) + " is " + to_string(state[i].dtype()) +
                    to_string(state[i].shape()) + ", expected " + to_string(layout[i].type) +
                    to_string(layout[i].shape));
}

// The rows of a lazy update index the weight's rows: each must be one of
// them (sorted and unique, as a row_sparse gradient's are), else the rule
// would write outside the weight.
void check_rows(const std::string& name, const std::vector<int64_t>& rows, const kvs::shape& dims) {
  int64_t n = dims.empty() ? 0 : dims[0];
  int64_t previous = -1;
  for (auto r : rows) {
    if (r <= previous || r >= n)
      bad(name, "the rows of a row_sparse update must be sorted, unique and below " +
                    std::to_string(n) + " (the weight's rows); got " + std::to_string(r) +
                    " after " + std::to_string(previous));
    previous = r;
  }
}

}  // namespace

optimizer::optimizer(std::string name, std::map<std::string, double> numbers,
                     std::map<std::string, std::string> options)
    : name_(std::move(name)),
      numbers_(std::move(numbers)),
      options_(std::move(options)),
      schedule_(std::make_shared<const detail::lr_schedule>(
          detail::lr_schedule::from(numbers_, options_))) {}

std::vector<std::string> optimizer::names() {
  std::vector<std::string> out;
  for (auto& [k, v] : specs())
    out.push_back(k);
  return out;
}

double optimizer::number(const std::string& key) const {
  auto i = numbers_.find(key);
  if (i == numbers_.end())
    bad(name_, "has no number \"" + key + "\"");
  return i->second;
}

double optimizer::learning_rate(uint64_t t) const { return schedule_->at(t); }

uint32_t optimizer::state_arrays() const {
  return detail::rule_of(specs().at(name_).kind).state_arrays(scalars_of(*this, 0, 1));
}

bool optimizer::multi_precision() const { return numbers_.at("multi_precision") != 0; }

void optimizer::update(const ndarray& grad, ndarray& weight, std::vector<ndarray>& state,
                       uint64_t t, const std::vector<int64_t>* rows) const {
  apply(grad, weight, state, t, rows, nullptr, nullptr);
}

void optimizer::update_and_copy_rows(const ndarray& grad, ndarray& weight,
                                     std::vector<ndarray>& state, uint64_t t,
                                     const ndarray& rows_out, uint64_t first) const {
  if (grad.is_none() || grad.storage() != storage::row_sparse)
    bad(name_, "update_and_copy_rows takes a row_sparse gradient");
  auto& ids = detail::ndarray_access::impl(grad).row_ids;
  auto row_len = detail::row_length(weight.shape());
  if (rows_out.is_none() || rows_out.storage() != storage::dense ||
      detail::on_gpu(rows_out) || rows_out.dtype() != weight.dtype() ||
      rows_out.size() < first || rows_out.size() - first < ids.size() * row_len)
    bad(name_, "update_and_copy_rows: " + std::to_string(ids.size()) + " rows of the " +
                   to_string(weight.dtype()) + to_string(weight.shape()) +
                   " weight do not fit a host dense " + to_string(rows_out.dtype()) +
                   " array of " + std::to_string(rows_out.size()) + " elements from element " +
                   std::to_string(first));
  auto* to = static_cast<char*>(detail::ndarray_access::raw(rows_out)) +
             first * size_of(rows_out.dtype());
  bool copied = false;
  apply(grad, weight, state, t, nullptr, to, &copied);
  if (!copied)  // not a lazy rule's pass over the rows: gathered after it
    detail::gather_rows(weight, ids, row_len, rows_out, first);
}

void optimizer::apply(const ndarray& grad, ndarray& weight, std::vector<ndarray>& state,
                      uint64_t t, const std::vector<int64_t>* rows, void* copy_to,
                      bool* copied) const {
  auto& rule = detail::rule_of(specs().at(name_).kind);
  auto wt = weight.dtype();
  // A row_sparse gradient brings its rows: a lazy rule on host float or
  // double weights runs on its compact rows (no dense gradient to make or
  // read); anything else runs on its dense form, zero in the other rows.
  bool compact = !grad.is_none() && grad.storage() == storage::row_sparse;
  const ndarray* grad_rows = nullptr;
  if (compact) {
    auto& sparse = detail::ndarray_access::impl(grad);
    bool lazy_here = rule.lazy_rows && numbers_.at("lazy_update") != 0 &&
                     (wt == dtype::f32 || wt == dtype::f64) && grad.dtype() == wt &&
                     !detail::on_gpu(weight) && !detail::on_gpu(sparse.rows);
    if (!lazy_here) {
      apply(detail::densify(grad), weight, state, t, &sparse.row_ids, nullptr, nullptr);
      return;
    }
    rows = &sparse.row_ids;
    grad_rows = &sparse.rows;
  }
  if (detail::on_gpu(weight) || detail::on_gpu(grad)) {
    // A GPU-resident key (device store): the rule runs on host copies; the
    // state lives on the host.
    auto w = weight.copy_to(cpu());
    apply(grad.copy_to(cpu()), w, state, t, rows, nullptr, nullptr);
    detail::cuda_or_memcpy(detail::ndarray_access::raw(weight), weight.device(),
                           detail::ndarray_access::raw(w), cpu(), w.size() * size_of(w.dtype()));
    return;
  }
  if (wt == dtype::i32 || wt == dtype::i64 || wt == dtype::u8)
    throw error(errc::unsupported, "optimizer \"" + name_ + "\" cannot update " +
                                       to_string(wt) + " weights");
  if (grad.dtype() != wt || grad.size() != weight.size())
    throw error(errc::invalid_argument, "optimizer \"" + name_ + "\": gradient " +
                                            to_string(grad.dtype()) + to_string(grad.shape()) +
                                            " does not match weight " + to_string(wt) +
                                            to_string(weight.shape()));
  if (rows != nullptr)
    check_rows(name_, *rows, weight.shape());
  bool lazy = rows != nullptr && rule.lazy_rows && numbers_.at("lazy_update") != 0;
  const std::vector<int64_t>* use_rows = lazy ? rows : nullptr;
  size_t n = weight.size();
  size_t row_len = weight.shape().empty() || weight.shape()[0] == 0
                       ? n
                       : n / static_cast<size_t>(weight.shape()[0]);
  auto p = scalars_of(*this, learning_rate(t), t);
  uint32_t ns = rule.state_arrays(p);
  auto layout = detail::optimizer_state_layout(wt, weight.shape(), ns, multi_precision());
  check_state(name_, layout, state);
  bool master = layout.size() > ns;
  auto raw = [](const ndarray& a) { return detail::ndarray_access::raw(a); };
  const void* g_raw = raw(compact ? *grad_rows : grad);
  if (wt == dtype::f32) {
    auto s = pointers<float>(state, ns);
    auto* out = compact && lazy ? static_cast<float*>(copy_to) : nullptr;
    run_rule<float>(rule, p, static_cast<float*>(raw(weight)), static_cast<const float*>(g_raw), s,
                    n, use_rows, row_len, compact, out);
    if (copied != nullptr)
      *copied = out != nullptr;
    return;
  }
  if (wt == dtype::f64) {
    auto s = pointers<double>(state, ns);
    auto* out = compact && lazy ? static_cast<double*>(copy_to) : nullptr;
    run_rule<double>(rule, p, static_cast<double*>(raw(weight)),
                     static_cast<const double*>(g_raw), s, n, use_rows, row_len, compact, out);
    if (copied != nullptr)
      *copied = out != nullptr;
    return;
  }
  // 16-bit weights: the rule runs in float. With multi_precision the fp32
  // master copy and fp32 states persist, and the weight is its rounding;
  // without, weight and states are widened and rounded back each step.
  auto g = widen(grad);
  if (master) {
    auto s = pointers<float>(state, ns);
    auto* w32 = static_cast<float*>(raw(state[ns]));
    run_rule<float>(rule, p, w32, g.data(), s, n, use_rows, row_len);
    for (size_t i = 0; i < n; ++i)
      detail::store_element(raw(weight), wt, i, w32[i]);
    return;
  }
  auto w = widen(weight);
  std::vector<std::vector<float>> st;
  std::vector<float*> s;
  for (uint32_t i = 0; i < ns; ++i)
    st.push_back(widen(state[i]));
  for (auto& v : st)
    s.push_back(v.data());
  run_rule<float>(rule, p, w.data(), g.data(), s, n, use_rows, row_len);
  narrow_into(w, weight);
  for (uint32_t i = 0; i < ns; ++i)
    narrow_into(st[i], state[i]);
}

std::shared_ptr<optimizer> create_optimizer(const std::string& name,
                                            const std::map<std::string, double>& numbers,
                                            const std::map<std::string, std::string>& options) {
  auto spec = specs().find(name);
  if (spec == specs().end())
    throw error(errc::invalid_argument, "unknown optimizer \"" + name + "\"; accepted: " +
                                            keys_of(specs()));
  auto all = common_defaults();
  for (auto& [k, v] : spec->second.defaults)
    all[k] = v;
  for (auto& [k, v] : numbers) {
    if (all.count(k) == 0)
      bad(name, "unknown parameter \"" + k + "\"; accepted: " + keys_of(all));
    all[k] = v;
  }
  for (auto& [k, v] : options)
    if (std::find(option_names().begin(), option_names().end(), k) == option_names().end())
      bad(name, "unknown option \"" + k + "\"; accepted: lr_scheduler, step, warmup_mode");
  check_range(name, all);
  return std::make_shared<optimizer>(name, std::move(all), options);  // checks the schedule
}

}  // namespace kvs
