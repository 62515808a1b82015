// The Tensor class: one JavaScript object per at::Tensor handle.
//
// JS methods (all synchronous unless noted; all throw TypeError for a wrong argument type, RangeError for an
// index or dimension out of range, TorchError for what LibTorch refuses, Error with code ERR_TENSOR_DISPOSED
// after dispose()):
//   shape, dtype, device, numel, ndim, requiresGrad (get/set), grad (get/set), isLeaf, isDisposed: getters
//   dispose()                idempotent; releases the handle now
//   item() -> number         first element as a JS number (bigint-free)
//   dataAsync() -> Promise   copies to a host ArrayBuffer off the JS thread (AsyncWorker)
//   dataSync() -> ArrayBuffer
//   backward(grad?, retainGraph?, createGraph?)
//   ops: see tensor_ops.cc (named after torch.Tensor's methods in camelCase; `name_` forms are in place)
#pragma once
#include "pch.h"
#include "scope.h"
#include <unordered_map>

namespace tg {

class Addon;

// A tensor slot. The JS Tensor class is defined in JavaScript (lib/tensor-class.ts): each object holds, in a private
// field, a handle = slot index + the slot's reuse count, and the addon owns the slots (Addon::tensors). Why: an object
// V8 allocates inline costs ~10 ns, while one made or tagged through Node-API costs 0.4-1.3 µs, more than the op itself
// (bench/RESULTS.md). The class's hot methods pass handles to the functions of tensor_fast.cc; everything else reaches
// the slot through the class's handleOf (a brand check on the private field, which no other object can pass).
// A handle whose slot was disposed (or reused) resolves to a shared disposed slot, so using it throws
// ERR_TENSOR_DISPOSED; a value without a valid handle is not a tensor (TypeError), and no value is ever dereferenced
// unless its handle names a live slot of this addon.
class TensorWrap : public Napi::InstanceWrap<TensorWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports, Addon* addon);
  // Wraps t in a new JS Tensor registered in the current tidy scope.
  static Napi::Value Make(Napi::Env env, at::Tensor t);
  // Registers t in the current tidy scope without making its object: returns the handle for JavaScript to wrap, as
  // -(handle + 1) when the tensor is in the global scope (JavaScript then adds the object to the pending batch).
  static double MakeHandle(Addon* addon, Napi::Env env, at::Tensor t);
  static bool IsWrap(Napi::Value v);
  static TensorWrap* UnwrapOrNull(Napi::Value v);
  // Used by node-addon-api's method and accessor trampolines (found as T::Unwrap): throws TypeError for a non-tensor.
  static TensorWrap* Unwrap(Napi::Object obj);

  TensorWrap() = default;
  TensorWrap(const TensorWrap&) = delete;
  TensorWrap& operator=(const TensorWrap&) = delete;

  // The handle; throws when disposed.
  const at::Tensor& Get(const char* what) const;
  void Dispose();
  bool disposed() const { return disposed_; }
  size_t NativeBytes() const;
  Napi::Env Env() const { return Napi::Env(env_); }

  // Scope membership (intrusive list).
  void LinkInto(Scope* scope);
  void Unlink();
  TensorWrap* next() const { return next_; }
  Scope* scope() const { return scope_; }
  void DetachFromScope() { scope_ = nullptr; prev_ = next_ = nullptr; }
  const at::Tensor& raw() const { return t_; }

  // Slot bookkeeping (Addon::tensors).
  uint32_t index() const { return index_; }
  uint64_t seq() const { return seq_; }
  double Handle() const;
  // Gives obj (this tensor's JS object) a GC finalizer, the safety net for tensors that leave every tidy scope.
  void EnsureFinalizer(napi_env env, napi_value obj);

  // Generic op shapes used by the X-macro op tables.
  template <at::Tensor (*Fn)(const at::Tensor&)>
  Napi::Value Unary(const Napi::CallbackInfo& info);
  template <void (*Fn)(at::Tensor&)>
  Napi::Value UnaryInPlace(const Napi::CallbackInfo& info);
  template <at::Tensor (*Fn)(const at::Tensor&, const at::Tensor&)>
  Napi::Value Binary(const Napi::CallbackInfo& info);
  template <void (*Fn)(at::Tensor&, const at::Tensor&)>
  Napi::Value BinaryInPlace(const Napi::CallbackInfo& info);
  template <at::Tensor (*Fn)(const at::Tensor&, const Napi::CallbackInfo&)>
  Napi::Value WithArgs(const Napi::CallbackInfo& info);
  template <Napi::Value (*Fn)(const at::Tensor&, const Napi::CallbackInfo&)>
  Napi::Value Custom(const Napi::CallbackInfo& info);
  template <void (*Fn)(at::Tensor&, const Napi::CallbackInfo&)>
  Napi::Value InPlaceWithArgs(const Napi::CallbackInfo& info);

 private:
  friend class Addon;
  friend class TensorTable;
  friend struct FastOps;
  static TensorWrap* Register(Addon* addon, Napi::Env env, at::Tensor t);
  static void Finalize(napi_env env, void* data, void* hint);

  Napi::Value GetShape(const Napi::CallbackInfo& info);
  Napi::Value GetDtype(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetNumel(const Napi::CallbackInfo& info);
  Napi::Value GetNdim(const Napi::CallbackInfo& info);
  Napi::Value GetRequiresGrad(const Napi::CallbackInfo& info);
  void SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value GetGrad(const Napi::CallbackInfo& info);
  void SetGrad(const Napi::CallbackInfo& info, const Napi::Value& v);
  Napi::Value GetIsLeaf(const Napi::CallbackInfo& info);
  Napi::Value GetIsDisposed(const Napi::CallbackInfo& info);
  Napi::Value DisposeJs(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value DataSync(const Napi::CallbackInfo& info);
  Napi::Value DataAsync(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value RequiresGradInPlace(const Napi::CallbackInfo& info);

  at::Tensor t_;
  bool disposed_ = true;      // a free slot counts as disposed
  bool finalizer_ = false;    // the JS object has a GC finalizer (napi_add_finalizer)
  const void* reportedStorage_ = nullptr;
  napi_ref weak_ = nullptr;  // set with the finalizer: lets TensorTable::MaybeSweep see a collected object at once  // the storage whose bytes this wrapper counts in TensorTable::reported_
  napi_env env_ = nullptr;
  Addon* addon_ = nullptr;
  uint32_t index_ = 0;
  uint64_t seq_ = 0;          // bumped each time the slot is released, so old handles go stale
  Scope* scope_ = nullptr;
  TensorWrap* prev_ = nullptr;
  TensorWrap* next_ = nullptr;
};

// The slots of one addon instance: chunks with stable addresses, a FIFO free list (spreads reuse over slots so a
// handle's 29-bit reuse count cannot wrap around in practice), and the tensors waiting for a finalizer decision.
class TensorTable {
 public:
  static constexpr uint32_t kChunk = 1024;
  static constexpr uint32_t kMaxSlots = 1u << 24;  // index bits of a handle
  static constexpr uint32_t kPendingBatch = 256;
  static constexpr size_t kPendingBytes = size_t(64) << 20;

  TensorWrap* Acquire(Addon* addon, napi_env env);
  void Release(TensorWrap* w);
  // The live slot a handle names; the shared disposed slot for a stale one; nullptr for a value that is no handle.
  TensorWrap* Resolve(double handle);
  TensorWrap* DisposedSlot() { return &disposed_; }
  size_t capacity() const { return chunks_.size() * kChunk; }
  TensorWrap* At(uint32_t i) { return &chunks_[i / kChunk][i % kChunk]; }

  // Native bytes are reported to V8 once per storage (400 views of one 16 MB storage are 16 MB, not 6.4 GB), so V8's
  // GC pressure follows the memory really held.
  void ReportStorage(napi_env env, TensorWrap* w);
  void UnreportStorage(napi_env env, TensorWrap* w);

  // Tensors left to GC (with a finalizer) are also tracked by weak reference: Node runs finalizers only when the event
  // loop turns, but a collection clears weak references at once, so a sweep frees them inside a synchronous loop.
  void Track(TensorWrap* w);
  void MaybeSweep(napi_env env);
  // Disposes a tensor whose object GC collected (from a sweep or its finalizer), counting the storage bytes freed: past
  // a threshold the allocator is asked to return free pages.
  void DisposeCollected(TensorWrap* w);

  // Tensors created in the global scope: most are disposed at once, so their finalizer is decided per batch. The batch
  // is a JavaScript array that both sides fill (objects made here by Make, objects made by the class from a handle),
  // in the order of pendingSlots_; state_[0] is the next index, state_[1] asks JavaScript to flush.
  void AddPending(napi_env env, napi_value obj, TensorWrap* w);
  void AddPendingSlot(TensorWrap* w);
  void FlushPending(napi_env env);
  void SetPending(napi_env env, napi_value array, int32_t* state) {
    pending = Napi::Persistent(Napi::Value(env, array));
    state_ = state;
  }

  Napi::Reference<Napi::Value> pending;  // the JS array holding the pending objects (strong)
  Napi::Reference<Napi::Value> stateArray;  // the Int32Array over state_ (kept alive)

 private:
  std::vector<std::unique_ptr<TensorWrap[]>> chunks_;
  // FIFO ring of free slot indices (no allocation per op, unlike std::deque's blocks); sized to capacity().
  std::vector<uint32_t> free_;
  size_t freeHead_ = 0, freeCount_ = 0;
  std::vector<std::pair<uint32_t, uint64_t>> pendingSlots_;
  size_t pendingBytes_ = 0;
  struct Reported {
    uint32_t count = 0;
    size_t bytes = 0;
  };
  std::unordered_map<const void*, Reported> reported_;
  size_t reportedTotal_ = 0;
  std::vector<std::pair<uint32_t, uint64_t>> tracked_;
  size_t sweepAtCount_ = 1024;
  size_t sweepAtBytes_ = size_t(256) << 20;
  napi_ref gcProbe_ = nullptr;
  size_t collectedSinceTrim_ = 0;
  int32_t* state_ = nullptr;
  TensorWrap disposed_;
};

// Property descriptors for the op tables (defined in tensor_ops*.cc).
void AddTensorOps(std::vector<Napi::ClassPropertyDescriptor<TensorWrap>>& props);

}  // namespace tg

#include "tensor_templates.h"
