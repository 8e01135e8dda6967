#include "actors/part_planner.hpp"

#include <algorithm>

#include "core/row_ops.hpp"

namespace kvs::detail {

namespace {

part_op wire_op(const operation& op) {
  switch (op.kind) {
    case op_kind::init: return part_op::init;
    case op_kind::pull: return op.select_rows ? part_op::pull_rows : part_op::pull;
    case op_kind::push:
    case op_kind::pushpull: return part_op::push;
  }
  return part_op::push;
}

// The operation's rows that fall in part p, counted from the part's first
// row, and where they start among all of the operation's rows.
struct part_rows {
  size_t first = 0;
  std::vector<int64_t> local;
};
part_rows rows_in(const std::vector<int64_t>& rows, const part_range& p, uint64_t row_len) {
  auto rb = static_cast<int64_t>(p.offset / row_len);
  auto re = static_cast<int64_t>((p.offset + p.count) / row_len);
  auto a = std::lower_bound(rows.begin(), rows.end(), rb);
  auto b = std::lower_bound(a, rows.end(), re);
  part_rows out;
  out.first = static_cast<size_t>(a - rows.begin());
  out.local.reserve(static_cast<size_t>(b - a));
  for (auto i = a; i != b; ++i)
    out.local.push_back(*i - rb);
  return out;
}

}  // namespace

std::vector<part_range> plan_ranges(const operation& op, const part_options& opts) {
  auto& sample = op.sample();
  uint64_t chunk = opts.max_part_bytes == 0 ? 0 : opts.max_part_bytes / size_of(sample.dtype());
  return partition(op.key, sample.size(), opts.shards, opts.split_bound, chunk, op.row_split);
}

bool parts_hold_whole_rows(const operation& op, const part_options& opts) {
  return cuts_between_rows(plan_ranges(op, opts), row_length(op.sample().shape()));
}

std::vector<planned_part> plan_parts(const operation& op, const std::vector<ndarray>& send,
                                     const part_options& opts) {
  auto ranges = plan_ranges(op, opts);
  auto row_len = row_length(op.sample().shape());
  bool sparse_push = op.sparse && op.kind != op_kind::init && op.kind != op_kind::pull;
  bool whole_rows = cuts_between_rows(ranges, row_len);
  std::vector<planned_part> out;
  out.reserve(ranges.size());
  for (uint32_t i = 0; i < ranges.size(); ++i) {
    auto p = ranges[i];
    part_request req;
    req.op = wire_op(op);
    req.id = part_id{op.key, i};
    req.worker = opts.rank;
    req.on_gpu = op.target.kind == device::gpu_kind;
    req.gpu_id = op.target.id;
    // The shard keeps rows where the part holds whole ones (a value from
    // another process arrives flat), so rows can be pushed and pulled by id
    // also on a dense key cut between rows.
    if (op.kind == op_kind::init && whole_rows)
      req.row_len = row_len;
    if (op.select_rows) {
      // Ask each shard only for the rows it holds; they land one after
      // another in the output's rows buffer.
      auto r = rows_in(op.rows, p, row_len);
      if (r.local.empty())
        continue;
      p = part_range{p.shard, r.first * row_len, r.local.size() * row_len};
      req.rows = std::move(r.local);
      for (auto& o : op.landing)
        req.outputs.push_back(array_view::destination(o, p.offset, p.count));
      out.push_back(planned_part{p, std::move(req)});
      continue;
    }
    if (sparse_push) {
      // Only the rows in the part's range travel (an empty push still
      // counts in its round).
      auto r = rows_in(op.rows, p, row_len);
      req.sparse = true;
      req.inputs.push_back(
          array_view{send.at(0), r.first * row_len, r.local.size() * row_len, true});
      req.rows = std::move(r.local);
    } else {
      const auto& src = op.kind == op_kind::init ? op.inputs : send;
      if (op.kind != op_kind::pull)
        for (auto& a : src)
          req.inputs.push_back(array_view{a, p.offset, p.count, true});
    }
    for (auto& o : op.landing)
      req.outputs.push_back(array_view::destination(o, p.offset, p.count));
    out.push_back(planned_part{p, std::move(req)});
  }
  return out;
}

}  // namespace kvs::detail
