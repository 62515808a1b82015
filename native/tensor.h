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

namespace tg {

class Addon;

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports, Addon* addon);
  // Wraps t in a new JS Tensor registered in the current tidy scope.
  static Napi::Value Make(Napi::Env env, at::Tensor t);
  static bool IsWrap(Napi::Value v);
  static TensorWrap* UnwrapOrNull(Napi::Value v);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap();

  // The handle; throws when disposed.
  const at::Tensor& Get(const char* what) const;
  void Dispose();
  bool disposed() const { return disposed_; }
  size_t NativeBytes() const;

  // Scope membership (intrusive list).
  void LinkInto(Scope* scope);
  void Unlink();
  TensorWrap* next() const { return next_; }
  Scope* scope() const { return scope_; }
  void DetachFromScope() { scope_ = nullptr; prev_ = next_ = nullptr; }
  const at::Tensor& raw() const { return t_; }

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
  bool disposed_ = false;
  size_t reportedBytes_ = 0;
  Scope* scope_ = nullptr;
  TensorWrap* prev_ = nullptr;
  TensorWrap* next_ = nullptr;
};

// Property descriptors for the op tables (defined in tensor_ops*.cc).
void AddTensorOps(std::vector<Napi::ClassPropertyDescriptor<TensorWrap>>& props);

}  // namespace tg

#include "tensor_templates.h"
