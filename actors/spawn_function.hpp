#pragma once
// Spawns a function-based actor that takes no arguments of its own. CAF 0.17
// (caf/detail/init_fun_factory.hpp) keeps a null pointer for the empty
// argument tuple of such an actor and binds a reference to it when the actor
// starts: undefined behaviour, which UBSan stops. With one unused argument
// the tuple exists. Every spawn of a function actor without arguments goes
// through here (docs/security.md, "Sanitizers").
#include <utility>

#include <caf/detail/type_traits.hpp>
#include <caf/spawn_options.hpp>

namespace kvs::detail {

// `fun` (with or without a self pointer) as a function of one more, unused
// int; the result type is kept, so CAF infers the same actor type.
template <class Result, class F>
auto with_unused_int(F fun, caf::detail::type_list<>) {
  return [fun = std::move(fun)](int) mutable -> Result { return fun(); };
}

template <class Result, class F, class Self>
auto with_unused_int(F fun, caf::detail::type_list<Self>) {
  return [fun = std::move(fun)](Self self, int) mutable -> Result { return fun(self); };
}

// `spawner`: an actor_system, or an actor that spawns (self->spawn).
template <caf::spawn_options Os = caf::no_spawn_options, class Spawner, class F>
auto spawn_function(Spawner& spawner, F fun) {
  using trait = caf::detail::get_callable_trait<F>;
  return spawner.template spawn<Os>(
      with_unused_int<typename trait::result_type>(std::move(fun), typename trait::arg_types{}), 0);
}

}  // namespace kvs::detail
