// See epoch_allocator.h. Blocks are kept per exact size (a training step repeats the same shapes), up to kMaxCached
// bytes; beyond that a freed block goes back to the system. Thread-safe: a tensor made on the epoch's thread may be
// freed on any thread.
#include "epoch_allocator.h"
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tg {
namespace {

constexpr size_t kMaxCached = size_t(512) << 20;
thread_local int tActive = 0;
std::atomic<int> gActive{0};  // threads recycling now
std::atomic<int> gHolds{0};   // fits keeping the cache between epochs; with neither, freed blocks go back to the system

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free;
  std::unordered_map<void*, size_t> sizes;  // every block this cache handed out and has not freed
  size_t cachedBytes = 0;
};

Cache& TheCache() {
  static Cache* cache = new Cache();  // never destroyed: tensors may be freed during exit
  return *cache;
}

// Takes back a block this cache handed out (keeping it for reuse when there is room); false for any other pointer.
bool ReturnIfOurs(void* p) {
  Cache& c = TheCache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.sizes.find(p);
    if (it == c.sizes.end()) return false;
    if ((gActive > 0 || gHolds > 0) && c.cachedBytes + it->second <= kMaxCached) {
      c.free[it->second].push_back(p);
      c.cachedBytes += it->second;
      return true;
    }
    c.sizes.erase(it);
  }
  c10::free_cpu(p);
  return true;
}

void ReturnBlock(void* p) {
  if (!ReturnIfOurs(p)) c10::free_cpu(p);
}

c10::DeleterFnPtr gBaseRawDeleter = nullptr;

// raw_deallocate's deleter: LibTorch's oneDNN convolutions take scratch memory with raw_allocate on any thread, so a
// raw pointer may be ours (recycling thread) or the base allocator's (any other).
void RawDelete(void* p) {
  if (ReturnIfOurs(p)) return;
  if (gBaseRawDeleter) gBaseRawDeleter(p);
  else c10::free_cpu(p);
}

class RecyclingAllocator final : public c10::Allocator {
 public:
  explicit RecyclingAllocator(c10::Allocator* base) : base_(base) {}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return Allocate(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#else
  c10::DataPtr allocate(size_t n) const override { return Allocate(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return &RawDelete; }

 private:
  c10::DataPtr Allocate(size_t n) const {
    if (tActive == 0 || n == 0) return base_->allocate(n);
    Cache& c = TheCache();
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.free.find(n);
      if (it != c.free.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        c.cachedBytes -= n;
      }
    }
    if (!p) {
      p = c10::alloc_cpu(n);  // throws c10::Error when out of memory, as the default allocator does
      std::lock_guard<std::mutex> lock(c.mu);
      c.sizes[p] = n;
    }
    return {p, p, &ReturnBlock, c10::Device(c10::DeviceType::CPU)};
  }

  c10::Allocator* base_;
};

void InstallOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    c10::Allocator* base = c10::GetCPUAllocator();
    gBaseRawDeleter = base->raw_deleter();
    static RecyclingAllocator* alloc = new RecyclingAllocator(base);
    c10::SetCPUAllocator(alloc, /*priority=*/1);
  });
}

void FreeCached() {
  Cache& c = TheCache();
  std::vector<void*> blocks;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    for (auto& [size, list] : c.free)
      for (void* p : list) {
        blocks.push_back(p);
        c.sizes.erase(p);
      }
    c.free.clear();
    c.cachedBytes = 0;
  }
  for (void* p : blocks) c10::free_cpu(p);
}

}  // namespace

RecycleCpuBlocks::RecycleCpuBlocks() : outer_(tActive == 0) {
  InstallOnce();
  if (tActive++ == 0) ++gActive;
}

RecycleCpuBlocks::~RecycleCpuBlocks() {
  if (--tActive == 0) --gActive;
  if (outer_ && gActive == 0 && gHolds == 0) FreeCached();
}

void HoldRecycledCpuBlocks(bool hold) {
  if (hold) {
    ++gHolds;
    return;
  }
  if (--gHolds == 0 && gActive == 0) FreeCached();
}

size_t RecycledCpuBytes() {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cachedBytes;
}

}  // namespace tg
