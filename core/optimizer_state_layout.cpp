#include "core/optimizer_state_layout.hpp"

#include <algorithm>

#include "core/array_impl.hpp"

namespace kvs::detail {

bool operator==(const state_array_layout& x, const state_array_layout& y) {
  return x.type == y.type && x.shape == y.shape && x.master == y.master;
}

std::vector<state_array_layout> optimizer_state_layout(dtype weight, const kvs::shape& shape,
                                                       uint32_t state_arrays, bool multi_precision) {
  bool master = multi_precision && (weight == dtype::f16 || weight == dtype::bf16);
  std::vector<state_array_layout> out(state_arrays, {master ? dtype::f32 : weight, shape});
  if (master)
    out.push_back({dtype::f32, shape, true});
  return out;
}

std::vector<ndarray> initial_optimizer_state(const ndarray& weight,
                                             const std::vector<state_array_layout>& layout) {
  std::vector<ndarray> out;
  for (auto& a : layout) {
    out.push_back(ndarray::zeros(a.shape, a.type));
    if (a.master) {
      auto v = weight.to_vector<float>();
      std::copy(v.begin(), v.end(), static_cast<float*>(ndarray_access::raw(out.back())));
    }
  }
  return out;
}

}  // namespace kvs::detail
