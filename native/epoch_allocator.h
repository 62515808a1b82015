// A CPU allocator that recycles freed blocks for the threads that ask for it (fit's native epochs): a training step
// frees and reallocates the same sizes every batch, and glibc hands large blocks back to the kernel and faults them in
// again (about a thousand page faults per epoch of the demo on a pool thread, a third of its time). Installed once per
// process in front of LibTorch's CPU allocator; other threads pass straight through to it.
#pragma once
#include "pch.h"

namespace tg {

// While alive, CPU tensors allocated on this thread come from (and return to) the recycling cache; on destruction the
// cached blocks nobody uses are freed (unless a fit holds them), so the memory is held only while training runs.
class RecycleCpuBlocks {
 public:
  RecycleCpuBlocks();
  ~RecycleCpuBlocks();
  RecycleCpuBlocks(const RecycleCpuBlocks&) = delete;
  RecycleCpuBlocks& operator=(const RecycleCpuBlocks&) = delete;

 private:
  bool outer_;
};

// A fit running several epochs keeps the cache between them (hold true at its start, false at its end): the blocks
// of one epoch serve the next one's first batches.
void HoldRecycledCpuBlocks(bool hold);

// Bytes held by the cache now (for tests and diagnostics).
size_t RecycledCpuBytes();

}  // namespace tg
