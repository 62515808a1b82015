// Definitions of TensorWrap's generic op shapes (header-only so each op table instantiates them).
#pragma once
#include "guard.h"
#include "convert.h"

namespace tg {

template <at::Tensor (*Fn)(const at::Tensor&)>
Napi::Value TensorWrap::Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] { return Make(env, Fn(Get("this"))); });
}

template <void (*Fn)(at::Tensor&)>
Napi::Value TensorWrap::UnaryInPlace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    Get("this");
    Fn(t_);
    return info.This();
  });
}

template <at::Tensor (*Fn)(const at::Tensor&, const at::Tensor&)>
Napi::Value TensorWrap::Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    const at::Tensor& self = Get("this");
    return Make(env, Fn(self, ToTensorOrScalar(info[0], "other")));
  });
}

template <void (*Fn)(at::Tensor&, const at::Tensor&)>
Napi::Value TensorWrap::BinaryInPlace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    Get("this");
    Fn(t_, ToTensorOrScalar(info[0], "other"));
    return info.This();
  });
}

template <at::Tensor (*Fn)(const at::Tensor&, const Napi::CallbackInfo&)>
Napi::Value TensorWrap::WithArgs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] { return Make(env, Fn(Get("this"), info)); });
}

template <Napi::Value (*Fn)(const at::Tensor&, const Napi::CallbackInfo&)>
Napi::Value TensorWrap::Custom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] { return Fn(Get("this"), info); });
}

template <void (*Fn)(at::Tensor&, const Napi::CallbackInfo&)>
Napi::Value TensorWrap::InPlaceWithArgs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    Get("this");
    Fn(t_, info);
    return info.This();
  });
}

}  // namespace tg
