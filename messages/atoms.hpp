#pragma once
// The atoms of the protocol (at most 10 characters each, a CAF 0.17 limit).
#include <caf/atom.hpp>

namespace kvs {

using updater_atom = caf::atom_constant<caf::atom("kvs_updtr")>;
using reduce_atom = caf::atom_constant<caf::atom("kvs_reduce")>;
using copy_atom = caf::atom_constant<caf::atom("kvs_copy")>;
using submit_atom = caf::atom_constant<caf::atom("kvs_submit")>;
using tick_atom = caf::atom_constant<caf::atom("kvs_tick")>;
using save_atom = caf::atom_constant<caf::atom("kvs_save")>;
using load_atom = caf::atom_constant<caf::atom("kvs_load")>;
using batch_atom = caf::atom_constant<caf::atom("kvs_batch")>;
using worker_down_atom = caf::atom_constant<caf::atom("kvs_wdown")>;
using register_atom = caf::atom_constant<caf::atom("kvs_reg")>;
using barrier_atom = caf::atom_constant<caf::atom("kvs_barr")>;
using command_atom = caf::atom_constant<caf::atom("kvs_cmd")>;
using done_atom = caf::atom_constant<caf::atom("kvs_done")>;
using stop_atom = caf::atom_constant<caf::atom("kvs_stop")>;
using sync_atom = caf::atom_constant<caf::atom("kvs_sync")>;
using shm_atom = caf::atom_constant<caf::atom("kvs_shm")>;
using compression_atom = caf::atom_constant<caf::atom("kvs_compr")>;

}  // namespace kvs
