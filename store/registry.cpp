// create() and the store registry (built-in types and register_kvstore).
#include <map>
#include <mutex>

#include "kvs/kvstore.hpp"
#include "store/graph_store.hpp"
#include "store/store_kind.hpp"

namespace kvs {

namespace {

// Backends are process-wide by nature (MXNet keeps them in a class-level
// dict); this is the one piece of global state, guarded by its mutex.
struct backend_registry {
  std::mutex mtx;
  std::map<std::string, std::function<std::unique_ptr<kvstore>(const config&)>> factories;
};

backend_registry& backends() {
  static backend_registry r;
  return r;
}

}  // namespace

std::vector<std::string> kvstore_types() {
  std::vector<std::string> out = detail::builtin_store_types();
  auto& r = backends();
  std::lock_guard<std::mutex> guard{r.mtx};
  for (auto& [name, f] : r.factories)
    out.push_back(name);
  return out;
}

void register_kvstore(const std::string& name,
                      std::function<std::unique_ptr<kvstore>(const config&)> factory) {
  if (name.empty())
    throw error(errc::invalid_argument, "register_kvstore: the name is empty");
  if (!factory)
    throw error(errc::invalid_argument, "register_kvstore: the factory for \"" + name + "\" is empty");
  if (detail::classify_store(name).builtin)
    throw error(errc::invalid_argument,
                "register_kvstore: \"" + name + "\" is a built-in store type");
  auto& r = backends();
  std::lock_guard<std::mutex> guard{r.mtx};
  r.factories[name] = std::move(factory);  // a later registration replaces, as in MXNet
}

std::unique_ptr<kvstore> create(const std::string& type, const config& cfg) {
  if (detail::classify_store(type).builtin)
    return std::make_unique<detail::graph_store>(type, cfg);
  std::function<std::unique_ptr<kvstore>(const config&)> factory;
  {
    auto& r = backends();
    std::lock_guard<std::mutex> guard{r.mtx};
    auto i = r.factories.find(type);
    if (i != r.factories.end())
      factory = i->second;
  }
  if (!factory) {
    std::string list;
    for (auto& n : kvstore_types())
      list += (list.empty() ? "" : ", ") + n;
    throw error(errc::invalid_type, "unknown store type \"" + type + "\"; valid types: " + list);
  }
  auto store = factory(cfg);
  if (!store)
    throw error(errc::invalid_argument, "the factory of store type \"" + type + "\" returned null");
  return store;
}

}  // namespace kvs
