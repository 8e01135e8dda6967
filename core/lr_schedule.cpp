#include "core/lr_schedule.hpp"

#include <cmath>
#include <sstream>

#include "kvs/error.hpp"

namespace kvs::detail {

namespace {

[[noreturn]] void bad(const std::string& what) {
  throw error(errc::invalid_argument, "lr_scheduler: " + what);
}

std::vector<int64_t> parse_steps(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 1)
      bad("step \"" + text + "\" must be a comma-separated list of whole numbers >= 1");
    if (!out.empty() && v <= out.back())
      bad("step \"" + text + "\" must increase");
    out.push_back(v);
  }
  if (out.empty())
    bad("multifactor needs a step list, e.g. {\"step\", \"100,200\"}");
  return out;
}

}  // namespace

lr_schedule lr_schedule::from(const std::map<std::string, double>& n,
                              const std::map<std::string, std::string>& o) {
  lr_schedule s;
  auto num = [&](const char* k, double fallback) {
    auto i = n.find(k);
    return i == n.end() ? fallback : i->second;
  };
  s.base_lr = num("learning_rate", 0.01);
  auto kind = o.find("lr_scheduler");
  s.kind = kind == o.end() ? "" : kind->second;
  if (!s.kind.empty() && s.kind != "factor" && s.kind != "multifactor" && s.kind != "poly" &&
      s.kind != "cosine")
    bad("unknown kind \"" + s.kind + "\"; accepted: factor, multifactor, poly, cosine");
  s.factor = num("factor", 1);
  s.stop_factor_lr = num("stop_factor_lr", 1e-8);
  s.max_update = num("max_update", 0);
  s.pwr = num("pwr", 2);
  s.final_lr = num("final_lr", 0);
  s.warmup_steps = num("warmup_steps", 0);
  s.warmup_begin_lr = num("warmup_begin_lr", 0);
  auto mode = o.find("warmup_mode");
  if (mode != o.end())
    s.warmup_mode = mode->second;
  if (s.warmup_mode != "linear" && s.warmup_mode != "constant")
    bad("warmup_mode \"" + s.warmup_mode + "\"; accepted: linear, constant");
  if (s.warmup_steps < 0 || s.warmup_steps != std::floor(s.warmup_steps))
    bad("warmup_steps must be a whole number >= 0");
  if (s.warmup_begin_lr > s.base_lr)
    bad("warmup_begin_lr exceeds learning_rate");
  if (s.kind == "factor") {
    s.step = num("step", 0);
    if (s.step < 1)
      bad("factor needs step >= 1");
    if (s.factor > 1)
      bad("factor must be at most 1");
  } else if (s.kind == "multifactor") {
    auto st = o.find("step");
    if (st == o.end())
      bad("multifactor needs a step list, e.g. {\"step\", \"100,200\"}");
    s.steps = parse_steps(st->second);
    if (s.factor > 1)
      bad("factor must be at most 1");
  } else if (s.kind == "poly" || s.kind == "cosine") {
    if (s.max_update < 1)
      bad(s.kind + " needs max_update >= 1");
    if (s.max_update <= s.warmup_steps)
      bad("max_update must exceed warmup_steps");
  }
  return s;
}

double lr_schedule::at(uint64_t num_update) const {
  if (kind.empty())
    return base_lr;
  auto u = static_cast<double>(num_update);
  if (u < warmup_steps) {  // LRScheduler.get_warmup_lr
    if (warmup_mode == "constant")
      return warmup_begin_lr;
    return warmup_begin_lr + (base_lr - warmup_begin_lr) * u / warmup_steps;
  }
  if (kind == "factor") {  // FactorScheduler: base_lr *= factor per step passed
    double lr = base_lr, count = 0;
    while (u > count + step) {
      count += step;
      lr *= factor;
      if (lr < stop_factor_lr) {
        lr = stop_factor_lr;
        break;  // it stays there
      }
    }
    return lr;
  }
  if (kind == "multifactor") {
    double lr = base_lr;
    for (auto s : steps) {
      if (u > static_cast<double>(s))
        lr *= factor;
      else
        break;
    }
    return lr;
  }
  double max_steps = max_update - warmup_steps;
  double done = std::min(u, max_update) - warmup_steps;
  if (kind == "poly")
    return final_lr + (base_lr - final_lr) * std::pow(1 - done / max_steps, pwr);
  const double pi = 3.14159265358979323846;
  return final_lr + (base_lr - final_lr) * (1 + std::cos(pi * done / max_steps)) / 2;
}

}  // namespace kvs::detail
