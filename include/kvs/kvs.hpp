#pragma once
// kvs: the parameter-synchronization key-value store of MXNet on CAF.
// One header for the whole public API.
#include "kvs/config.hpp"
#include "kvs/error.hpp"
#include "kvs/key.hpp"
#include "kvs/kvstore.hpp"
#include "kvs/ndarray.hpp"
#include "kvs/optimizer.hpp"
#include "kvs/trainer.hpp"
#include "kvs/updater_actor.hpp"

// CAF itself: users spawn updater actors in store.system().
#include <caf/all.hpp>
