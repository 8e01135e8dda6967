#include "actors/optimizer_updater.hpp"

#include <caf/all.hpp>

#include "messages/errors.hpp"

namespace kvs {

namespace {

updater_actor::behavior_type optimizer_updater(updater_actor::pointer,
                                               std::shared_ptr<const optimizer> opt) {
  return {
      [opt](update_atom, update_request& req) -> caf::result<void> {
        auto f = detail::capture([&] {
          opt->update(req.grad, req.weight, req.state, req.count, req.sparse ? &req.rows : nullptr);
        });
        if (f)
          f = kvs::error(f->code(), "update of key " + req.key.to_string() + ": " + f->what());
        // Let go of the arrays before answering: the message outlives the
        // answer, and a shard copies a whole value it does not hold alone.
        req = update_request{};
        return detail::reply(f);
      },
  };
}

}  // namespace

updater_setting optimizer_setting(updater_actor handle, const optimizer& opt) {
  auto& n = opt.numbers();
  auto lazy = n.find("lazy_update");  // only the optimizers with lazy rows have it
  return updater_setting{std::move(handle), opt.state_arrays(), opt.multi_precision(),
                         lazy != n.end() && lazy->second != 0};
}

updater_actor spawn_optimizer_updater(caf::actor_system& sys,
                                                std::shared_ptr<const optimizer> opt) {
  return sys.spawn<caf::detached>(optimizer_updater, std::move(opt));
}

}  // namespace kvs
