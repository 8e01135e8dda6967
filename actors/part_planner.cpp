#include "actors/part_planner.hpp"

namespace kvs::detail {

namespace {

part_op wire_op(op_kind k) {
  switch (k) {
    case op_kind::init: return part_op::init;
    case op_kind::pull: return part_op::pull;
    case op_kind::push:
    case op_kind::pushpull: return part_op::push;
  }
  return part_op::push;
}

}  // namespace

std::vector<planned_part> plan_parts(const operation& op, const std::vector<ndarray>& send,
                                     const part_options& opts) {
  auto& sample = op.sample();
  uint64_t chunk = opts.max_part_bytes == 0 ? 0 : opts.max_part_bytes / size_of(sample.dtype());
  auto ranges = partition(op.key, sample.size(), opts.shards, opts.split_bound, chunk);
  std::vector<planned_part> out;
  out.reserve(ranges.size());
  for (uint32_t i = 0; i < ranges.size(); ++i) {
    auto& p = ranges[i];
    part_request req;
    req.op = wire_op(op.kind);
    req.id = part_id{op.key, i};
    req.worker = opts.rank;
    const auto& src = op.kind == op_kind::init ? op.inputs : send;
    if (op.kind != op_kind::pull)
      for (auto& a : src)
        req.inputs.push_back(array_view{a, p.offset, p.count, true, {}});
    for (auto& o : op.landing)
      req.outputs.push_back(array_view::destination(o, p.offset, p.count));
    req.on_gpu = op.target.kind == device::gpu_kind;
    req.gpu_id = op.target.id;
    req.sparse = op.sparse && ranges.size() == 1;
    if (req.sparse)
      req.rows = op.rows;
    out.push_back(planned_part{p, std::move(req)});
  }
  return out;
}

}  // namespace kvs::detail
