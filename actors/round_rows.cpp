// A round's row_sparse pushes: summed into the round's dense merge buffer
// (only their rows touched), or, in a dist_sync round of several workers'
// row pushes for an optimizer that takes rows, held as they came and summed
// straight into a compact gradient of the union of their ids when the round
// completes. The merge buffer is a table-sized array: scattering each push
// into it, clearing its rows for the next round and reading them back in the
// update were three random passes over the table per round, each row a
// memory miss (docs/benchmarks.md, "sparse_pushpull").
#include "actors/cpu_kernels.hpp"
#include "actors/key_shard_state.hpp"
#include "core/array_impl.hpp"
#include "core/row_ops.hpp"

namespace kvs::detail {

bool takes_pushed_rows(const shard_state& st, const key_entry& e, const part_request& m) {
  // Host float and double values only: elsewhere the optimizer would densify
  // the rows every round (GPU and 16-bit values keep the merge buffer).
  auto t = e.stored.dtype();
  return m.sparse && st.updater.actor && st.updater.takes_rows &&
         (t == dtype::f32 || t == dtype::f64) && !on_gpu(e.stored) &&
         !on_gpu(m.inputs[0].array);
}

bool holds_rows(const shard_state& st, const key_entry& e, const part_request& m, bool alone) {
  // Only while every push of the round so far was held: a round that began
  // with another kind of push sums into the merge buffer, as it began.
  return !alone && takes_pushed_rows(st, e, m) && e.rows_held.size() == e.pushed.size();
}

void hold_rows(key_entry& e, part_request& m) {
  // The push's reply is the next one the round holds (join_round).
  e.rows_held.push_back(key_entry::rows_push{std::move(m.rows), m.inputs[0], e.held.size()});
}

void sum_rows(key_entry& e, const std::vector<int64_t>& ids, const array_view& src, bool direct,
              bool first) {
  auto len = row_length(e.stored.shape());
  if (direct) {
    make_exclusive(e.stored);
    zero_all(e.stored);
    scatter_rows(src.array, src.offset, ids, len, e.stored, false);
    return;
  }
  if (e.merge.is_none()) {
    e.merge = ndarray::zeros(e.stored.shape(), e.stored.dtype(), e.stored.device());
    e.merge_rows = std::vector<int64_t>{};
  }
  make_exclusive(e.merge);
  if (first) {  // the round's first push: clear what an earlier one left
    if (e.merge_rows)
      zero_rows(e.merge, *e.merge_rows, len);
    else
      zero_all(e.merge);
    e.merge_rows = std::vector<int64_t>{};
  }
  scatter_rows(src.array, src.offset, ids, len, e.merge, true);
  if (e.merge_rows)
    add_ids(*e.merge_rows, ids);
}

void merge_held_rows(key_entry& e) {
  auto held = std::move(e.rows_held);
  e.rows_held.clear();
  for (size_t i = 0; i < held.size(); ++i) {
    // What each would have done on arrival: into merge, in their order; and
    // their ids into the round's rows (note_rows had none of them).
    sum_rows(e, held[i].ids, held[i].rows, false, i == 0);
    add_ids(e.round_rows, held[i].ids);
  }
}

void sum_held_rows(key_entry& e) {
  if (e.rows_held.empty())
    return;
  auto held = std::move(e.rows_held);
  e.rows_held.clear();
  for (auto& p : held)
    e.held.at(p.reply).gradient_rows = p.ids.size();
  // Read now, before any push of the round is answered: a range of a
  // worker's shared memory is not read once its push was answered. Each
  // row 0 + the pushes' rows in the order they came: the merge buffer's sum.
  auto t = e.stored.dtype();
  std::vector<id_rows> values;
  for (auto& p : held)
    values.push_back({&p.ids, view_memory(p.rows)});
  auto ids = union_of_ids(values);
  kvs::shape s = e.stored.shape();
  s[0] = static_cast<int64_t>(ids.size());
  auto rows = make_uninitialized(s, t, cpu());
  sum_rows_in_order(values, ids, row_length(e.stored.shape()), t, ndarray_access::raw(rows));
  e.grad = ndarray::row_sparse(e.stored.shape(), std::move(ids), rows);
}

}  // namespace kvs::detail
