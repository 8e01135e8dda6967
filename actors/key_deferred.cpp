// A dist_sync round's first dense pushes from shared memory, kept where
// they lie and summed with a later push in one pass: the round's sum is
// written once (sum = a + b) instead of the first push copied into the merge
// buffer and read back to add the next (docs/benchmarks.md, "Small
// messages"). The sum order stays the order the pushes came in, bit for bit.
#include "actors/key_shard_state.hpp"
#include "core/array_impl.hpp"

namespace kvs::detail {

namespace {

// Inputs one pass may take with the result unchanged: the plain kernel sums
// up to three left to right ((a + b) + c; four go in pairs); a 16-bit sum
// rounds once per pass, and today's order rounds once per push.
size_t one_pass_inputs(dtype t) { return t == dtype::f16 || t == dtype::bf16 ? 2 : 3; }

}  // namespace

bool defers_push(const shard_state& st, const key_entry& e, const part_request& m,
                 int round_size) {
  // Only pushes whose answer waits for the round: the worker keeps the range
  // until then, so it holds what was pushed when the round is summed.
  if (!st.opts.sync || round_size < 2 || m.sparse || m.codec != 0 || m.failed ||
      e.round_failure || !e.packed_held.empty() || m.inputs.size() != 1 ||
      !is_borrowed(m.inputs[0].array) || on_gpu(e.stored))
    return false;
  // Nothing of the round is in merge yet (a pass that adds to merge sums its
  // inputs first), the round's last push sums them all, and the pass that
  // takes them and the next push stays within one_pass_inputs.
  auto before = e.deferred.size();
  return e.pushed.size() == before && static_cast<int>(before) + 1 < round_size &&
         before + 2 <= one_pass_inputs(e.stored.dtype());
}

void check_inputs(const key_entry& e, part_request& m) {
  // Moved into the job and back: a copy of the list would be an allocation.
  reduce_job job{std::move(m.inputs), array_view::whole(e.stored), false};
  auto f = capture([&] { check_job(job); });
  m.inputs = std::move(job.inputs);
  if (f)
    throw *f;
}

void defer_push(key_entry& e, part_request& m) {
  check_inputs(e, m);  // now, as its sum would: a bad push is refused alone
  e.deferred.push_back(std::move(m.inputs[0]));
}

bool takes_deferred(const key_entry& e, const part_request& m) {
  return !e.deferred.empty() && !m.sparse && m.codec == 0 && m.inputs.size() == 1;
}

}  // namespace kvs::detail
