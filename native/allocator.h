// glibc's allocator, tuned once per process for training loops (see TuneAllocator in allocator.cc).
#pragma once

namespace tg {

// Returns whether the tuning is in effect (false off glibc, when TORCHGRAFT_MALLOC_TUNING=0, or when the user set
// glibc's own malloc tunables, which win).
bool TuneAllocator();

}  // namespace tg
