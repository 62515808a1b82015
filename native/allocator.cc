// A training step frees and reallocates the same activation and gradient buffers (hundreds of KB to MB) each time.
// With glibc's defaults, free() trims the top of the heap or unmaps the buffer, and the next step's allocation takes
// the pages back one fault at a time: measured on an MLP 784-300-100-10 Adam step (batch 512, one thread), 860 page
// faults per step and a median step 2.5x its minimum, in Python PyTorch too (bench/RESULTS-train-step.md). Fixed
// thresholds keep buffers up to 32 MB in the heap and up to 256 MB of free heap mapped: ~1 fault per step. Memory that
// GC frees in bulk is still handed back explicitly (TensorTable::DisposeCollected calls malloc_trim).
#include "allocator.h"
#include <cstdlib>
#include <cstring>
#include <mutex>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tg {

bool TuneAllocator() {
  static bool tuned = false;
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__GLIBC__)
    // Opt-in for now: with it on, the HDF5 fuzz test's children crashed (SIGSEGV) in 3 of 8 runs on LibTorch 2.6 /
    // Node 20.19 (0 of 5 with it off; never on LibTorch 1.13), cause not found yet.
    const char* flag = std::getenv("TORCHGRAFT_MALLOC_TUNING");
    if (!flag || std::strcmp(flag, "1") != 0) return;
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") || (tunables && std::strstr(tunables, "malloc")))
      return;
    // Setting the mmap threshold also turns off glibc's dynamic threshold, which would move it again.
    tuned = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
#endif
  });
  return tuned;
}

}  // namespace tg
