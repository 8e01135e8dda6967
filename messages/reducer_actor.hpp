#pragma once
// The device reducer's interface: sum per-device arrays into a destination,
// and copy one value out to many destinations.
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/array_view.hpp"
#include "messages/atoms.hpp"

namespace kvs {

using ok_atom = caf::atom_constant<caf::atom("kvs_ok")>;

struct reduce_job {
  std::vector<array_view> inputs;  // same dtype and count as dest
  array_view dest;
  bool accumulate = false;  // dest += sum(inputs) instead of dest = sum(inputs)
};

struct copy_job {
  array_view source;
  std::vector<array_view> dests;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reduce_job& x) {
  return f(caf::meta::type_name("reduce_job"), x.inputs, x.dest, x.accumulate);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, copy_job& x) {
  return f(caf::meta::type_name("copy_job"), x.source, x.dests);
}

using reducer_actor = caf::typed_actor<caf::replies_to<reduce_atom, reduce_job>::with<ok_atom>,
                                       caf::replies_to<copy_atom, copy_job>::with<ok_atom>>;

}  // namespace kvs
