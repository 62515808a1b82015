// Tensor ops called with handles (lib/tensor-class.ts passes the private handle of `this` and of tensor arguments):
// no JS object is read or made through Node-API, so an op costs a plain call plus the op. Results are handles for
// the class to wrap (TensorWrap::MakeHandle). A handle that names no slot of this addon is a TypeError; a stale one
// resolves to the disposed slot and throws ERR_TENSOR_DISPOSED, as the object methods do.
#pragma once
#include "addon.h"
#include "guard.h"
#include <cmath>

namespace tg {

// Each function's data is its environment's Addon (set at registration), which spares a napi_get_instance_data per
// handle.
struct FastOps {
  static Addon* Of(const Napi::CallbackInfo& info) { return static_cast<Addon*>(info.Data()); }
  static TensorWrap* Slot(const Napi::CallbackInfo& info, size_t i) {
    double h = -1;
    napi_get_value_double(info.Env(), info[i], &h);
    TensorWrap* w = Of(info)->tensors.Resolve(h);
    if (!w) throw Napi::TypeError::New(info.Env(), "expected a Tensor");
    return w;
  }
  static Napi::Value Handle(const Napi::CallbackInfo& info, at::Tensor t) {
    return Napi::Number::New(info.Env(), TensorWrap::MakeHandle(Of(info), info.Env(), std::move(t)));
  }

  template <at::Tensor (*Fn)(const at::Tensor&)>
  static Napi::Value Unary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&] { return Handle(info, Fn(Slot(info, 0)->Get("this"))); });
  }
  template <void (*Fn)(at::Tensor&)>
  static Napi::Value UnaryInPlace(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&] {
      TensorWrap* w = Slot(info, 0);
      w->Get("this");
      Fn(w->t_);
      return env.Undefined();
    });
  }
  template <at::Tensor (*Fn)(const at::Tensor&, const at::Tensor&)>
  static Napi::Value Binary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&] { return Handle(info, Fn(Slot(info, 0)->Get("this"), Slot(info, 1)->Get("other"))); });
  }
  template <void (*Fn)(at::Tensor&, const at::Tensor&)>
  static Napi::Value BinaryInPlace(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&] {
      TensorWrap* w = Slot(info, 0);
      w->Get("this");
      Fn(w->t_, Slot(info, 1)->Get("other"));
      return env.Undefined();
    });
  }
  // A JS number as Python passes one to an op: integral values are integers (int tensors stay int), others double,
  // wrapped as a 0-d "wrapped number" tensor so that the Tensor overload runs (the autograd node is MulBackward0, as
  // Python's, not the Scalar overload's MulBackward1) with a number's type promotion.
  static at::Tensor Number(const Napi::CallbackInfo& info, size_t i) {
    double d = 0;
    if (napi_get_value_double(info.Env(), info[i], &d) != napi_ok) throw Napi::TypeError::New(info.Env(), "expected a number");
    bool integral = std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15;
    at::Tensor t = c10::scalar_to_tensor(integral ? at::Scalar(static_cast<int64_t>(d)) : at::Scalar(d));
    t.unsafeGetTensorImpl()->set_wrapped_number(true);
    return t;
  }
  template <at::Tensor (*Fn)(const at::Tensor&, const at::Tensor&)>
  static Napi::Value BinaryScalar(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&] { return Handle(info, Fn(Slot(info, 0)->Get("this"), Number(info, 1))); });
  }
  template <void (*Fn)(at::Tensor&, const at::Tensor&)>
  static Napi::Value BinaryScalarInPlace(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&] {
      TensorWrap* w = Slot(info, 0);
      w->Get("this");
      Fn(w->t_, Number(info, 1));
      return env.Undefined();
    });
  }
  // A member getter or method of TensorWrap (shape, dtype, dispose, ...), with the slot of handle info[0] as `this`.
  template <Napi::Value (TensorWrap::*M)(const Napi::CallbackInfo&)>
  static Napi::Value Member(const Napi::CallbackInfo& info) {
    return (Slot(info, 0)->*M)(info);
  }
  // shape, dtype, device, numel, ndim, requiresGrad, isLeaf, isDisposed, dispose, item (tensor_fast.cc).
  static void AddMembers(Napi::Env env, Napi::Object fast, Addon* addon);
};

// The op tables by handle: { unary, unaryInPlace, binary, binaryInPlace } objects of name -> function (tensor_ops.cc).
void AddFastTensorOps(Napi::Env env, Napi::Object fast, Addon* addon);

}  // namespace tg
