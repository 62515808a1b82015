// glibc's allocator, tuned once per process for training loops (see TuneAllocator in allocator.cc).
#pragma once

namespace tg {

// Returns whether the tuning is in effect: only with TORCHGRAFT_MALLOC_TUNING=1, on glibc, and when the user set none of
// glibc's own malloc tunables (which win).
bool TuneAllocator();

}  // namespace tg
