#pragma once
// Rows of arrays: what row_sparse values need wherever they go (the worker's
// row stage, the shard's sparse sums and row answers). Row ids are int64,
// sorted and unique; a "row" is the elements of one index of the first
// dimension. Host arrays are worked on in place; GPU arrays through host
// copies (correct, not fast).
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kvs/ndarray.hpp"

namespace kvs::detail {

// Rows picked by id sit at random places in a big table: each costs a
// memory miss that the hardware prefetcher cannot foresee. Loops over such
// rows ask for the row `row_prefetch_distance` ids ahead, so its misses
// overlap the work on the current one. Only a row's first 512 bytes are
// asked for: past that the hardware prefetcher follows on its own.
constexpr size_t row_prefetch_distance = 8;
inline void prefetch_row(const void* row, size_t bytes, bool for_write) {
  auto* p = static_cast<const char*>(row);
  for (size_t b = 0; b < std::min(bytes, size_t{512}); b += 64) {
    if (for_write)
      __builtin_prefetch(p + b, 1);
    else
      __builtin_prefetch(p + b, 0);
  }
}

// Elements per row of a shape (1 for a 1-D shape, 0 for ()).
uint64_t row_length(const kvs::shape& s);

// Throws invalid_argument naming `what` unless `ids` are sorted, unique and
// in [0, rows).
void check_row_ids(const std::vector<int64_t>& ids, int64_t rows, const std::string& what);

// The ids held in an integer array of any shape (i32, i64 or u8), made
// sorted and unique, each checked to be in [0, rows). Waits for the array.
// `storage`: a vector whose memory the result reuses (see recycled_ids in
// actors/worker_route.hpp).
std::vector<int64_t> unique_row_ids(const ndarray& ids, int64_t rows, const std::string& what,
                                    std::vector<int64_t> storage = {});

// dst's rows ids[i] = (or +=) src's rows from element src_first on, one
// after another. Both dense, of one dtype.
void scatter_rows(const ndarray& src, uint64_t src_first, const std::vector<int64_t>& ids,
                  uint64_t row_len, const ndarray& dst, bool accumulate);
// dst's rows from element dst_first on = src's rows ids[i].
void gather_rows(const ndarray& src, const std::vector<int64_t>& ids, uint64_t row_len,
                 const ndarray& dst, uint64_t dst_first);
// src's rows ids[i] = 0.
void zero_rows(const ndarray& a, const std::vector<int64_t>& ids, uint64_t row_len);
// Every element of a dense array = 0, in place (no zero array to copy from).
void zero_all(const ndarray& a);

// The rows of one row_sparse value, as the sums below read them: its ids
// (sorted, unique) and its rows, one after another, in host memory.
struct id_rows {
  const std::vector<int64_t>* ids = nullptr;
  const void* rows = nullptr;
};
// ids = the union of ids and more (both sorted and unique).
void add_ids(std::vector<int64_t>& ids, const std::vector<int64_t>& more);
// The union of several values' ids, in one merge (into `storage`'s memory).
// Each value's ids must be sorted, unique and >= 0, as every caller has
// checked them on arrival (-1 marks a value whose ids are used up).
std::vector<int64_t> union_of_ids(const std::vector<id_rows>& values,
                                  std::vector<int64_t> storage = {});
// Their rows summed into `out`, the rows `ids` (their union) one after
// another, all of dtype `t`: each row written once, 0 + the first value's
// row that has it + each later one's, in the values' order (a dense
// buffer's arithmetic, so 0 + -0 is +0), read and written in order.
void sum_rows_in_order(const std::vector<id_rows>& values, const std::vector<int64_t>& ids,
                       uint64_t row_len, dtype t, void* out);

// Several row_sparse arrays (same dense shape and dtype) summed into one:
// the union of their row ids, and a dense buffer of those rows on the host.
// One array is returned as it is (no copy of its rows; its ids are copied
// into `storage`'s memory).
std::pair<std::vector<int64_t>, ndarray> sum_row_sparse(const std::vector<ndarray>& arrays,
                                                        std::vector<int64_t> storage = {});

// Gives a row_sparse array new rows (what row_sparse_pull writes): the
// array's marks stay, its ids and rows buffer are replaced (the ids copied
// into the memory of the old ones).
void replace_rows(const ndarray& sparse, const std::vector<int64_t>& ids, ndarray rows);

}  // namespace kvs::detail
