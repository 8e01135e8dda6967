#pragma once
// The layout of a key's optimizer state, in one place: the shard creates the
// state from it, the optimizer checks the arrays it is given against it, and
// load_optimizer_states checks a state file against it.
#include <cstdint>
#include <vector>

#include "kvs/ndarray.hpp"

namespace kvs::detail {

// One state array of a key.
struct state_array_layout {
  dtype type;
  kvs::shape shape;
  bool master = false;  // the fp32 master copy: starts as the weight, the others as zeros
};

bool operator==(const state_array_layout& x, const state_array_layout& y);

// A key's state, in order: `state_arrays` arrays of the weight's shape (fp32
// when multi_precision and the weight is f16 or bf16, else the weight's
// dtype), then, for an f16 or bf16 weight with multi_precision, the fp32
// master copy of the weight.
std::vector<state_array_layout> optimizer_state_layout(dtype weight, const kvs::shape& shape,
                                                       uint32_t state_arrays, bool multi_precision);

// Fresh state for `weight` (host arrays): zeros, and the master copy equal to
// the weight.
std::vector<ndarray> initial_optimizer_state(const ndarray& weight,
                                             const std::vector<state_array_layout>& layout);

}  // namespace kvs::detail
