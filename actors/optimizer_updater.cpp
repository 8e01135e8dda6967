#include "actors/optimizer_updater.hpp"

#include <caf/all.hpp>

#include "messages/errors.hpp"

namespace kvs {

namespace {

updater_actor::behavior_type optimizer_updater(updater_actor::pointer,
                                               std::shared_ptr<const optimizer> opt) {
  return {
      [opt](update_atom, update_request& req) -> caf::result<void> {
        return detail::reply(apply_optimizer(*opt, req));
      },
  };
}

}  // namespace

detail::failure apply_optimizer(const optimizer& opt, update_request& req,
                                const array_view* rows_out) {
  auto f = detail::capture([&] {
    if (rows_out != nullptr)
      opt.update_and_copy_rows(req.grad, req.weight, req.state, req.count, rows_out->array,
                               rows_out->offset);
    else
      opt.update(req.grad, req.weight, req.state, req.count, req.sparse ? &req.rows : nullptr);
  });
  if (f)
    f = kvs::error(f->code(), "update of key " + req.key.to_string() + ": " + f->what());
  // Let go of the arrays before answering: the message outlives the
  // answer, and a shard copies a whole value it does not hold alone.
  req = update_request{};
  return f;
}

updater_setting optimizer_setting(updater_actor handle, std::shared_ptr<const optimizer> opt) {
  auto& n = opt->numbers();
  auto lazy = n.find("lazy_update");  // only the optimizers with lazy rows have it
  bool takes_rows = lazy != n.end() && lazy->second != 0;
  return updater_setting{std::move(handle), opt->state_arrays(), opt->multi_precision(),
                         takes_rows, std::move(opt)};
}

updater_actor spawn_optimizer_updater(caf::actor_system& sys,
                                                std::shared_ptr<const optimizer> opt) {
  return sys.spawn<caf::detached>(optimizer_updater, std::move(opt));
}

}  // namespace kvs
