// Rows copied out of several row-major CPU tensors (a disk cache's blocks) into one batch, 16-bit floats widened to
// float32 on the way: used by gatherRows (a worker thread) and by fit's native engine fed from a disk cache.
#pragma once
#include "pch.h"
#include <string>
#include <vector>

namespace tg {

// A checked gather: row i of the result is row rows[i] of sources[which[i]].
struct RowGather {
  std::vector<at::Tensor> sources;
  std::vector<int32_t> which;
  std::vector<int64_t> rows;
  std::vector<int64_t> rowShape;  // one row's shape (the sources' shape without the first dimension)
  at::ScalarType from = at::kFloat;
  uint64_t rowBytes = 0;
};

// Checks that every source is a contiguous CPU tensor of `rowShape` rows of `from`, and every (which, row) pair names
// a row; returns the reason it is not, or an empty string.
std::string CheckRowGather(RowGather& g);

// Whether the copy widens: float16/bfloat16 rows into float32.
bool WidensTo(at::ScalarType from, at::ScalarType outDtype);

// The tensor GatherRowsInto fills: rows x rowShape, float32 when the copy widens to `outDtype`, else `from`.
at::Tensor EmptyGatherOutput(const RowGather& g, at::ScalarType outDtype);

// Copies the rows into `out` (rows x rowShape, contiguous, of `from`, or of float32 when the copy widens).
void GatherRowsInto(const RowGather& g, at::Tensor& out);

// GatherRowsInto, then `out` cast to `outDtype` where the copy did not already give it that dtype.
at::Tensor GatherRowsAs(const RowGather& g, at::Tensor out, at::ScalarType outDtype);

}  // namespace tg
