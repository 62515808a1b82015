// Automatic mixed precision: LibTorch's autocast state (per thread, as torch.autocast's) for CPU and CUDA, which
// lib/amp turns into tg.amp.autocast and fit's `precision` option.
//
// autocastGet(device) -> { enabled, dtype }     device: 'cpu' | 'cuda'
// autocastSet(device, enabled, dtype)           dtype: 'bfloat16' | 'float16'
// autocastEnter() / autocastExit()              nesting; the outermost exit clears the cast cache
#include "pch.h"
#include "registry.h"
#include "guard.h"
#include "convert.h"
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace tg {

namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define TG_AUTOCAST_BY_DEVICE 1
#endif

at::DeviceType ToAutocastDevice(const Napi::Value& v) {
  std::string d = ToString(v, "device");
  if (d == "cpu") return at::kCPU;
  if (d == "cuda") return at::kCUDA;
  TORCH_CHECK_VALUE(false, "autocast: deviceType must be 'cpu' or 'cuda', got '", d, "'");
}

bool IsEnabled(at::DeviceType d) {
#ifdef TG_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(d);
#else
  return d == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

at::ScalarType GetDtype(at::DeviceType d) {
#ifdef TG_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(d);
#else
  return d == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void SetState(at::DeviceType d, bool enabled, at::ScalarType dtype) {
#ifdef TG_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_dtype(d, dtype);
  at::autocast::set_autocast_enabled(d, enabled);
#else
  if (d == at::kCPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  }
#endif
}

}  // namespace

static Napi::Value AutocastGet(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    at::DeviceType d = ToAutocastDevice(info[0]);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("enabled", Napi::Boolean::New(info.Env(), IsEnabled(d)));
    o.Set("dtype", Napi::String::New(info.Env(), DtypeName(GetDtype(d))));
    return o;
  });
}

static Napi::Value AutocastSet(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    at::DeviceType d = ToAutocastDevice(info[0]);
    TORCH_CHECK_TYPE(info.Length() >= 3 && info[1].IsBoolean(), "autocast: enabled must be a boolean");
    at::ScalarType dtype = ToDtype(info[2], "dtype");
    // the lower-precision types each device's autocast supports (CPU: bfloat16 on 1.13; float16 too from 2.x)
    TORCH_CHECK_VALUE(dtype == at::kBFloat16 || dtype == at::kHalf, "autocast: dtype must be 'bfloat16' or 'float16', got '",
                      DtypeName(dtype), "'");
#if TORCH_VERSION_MAJOR < 2
    TORCH_CHECK_VALUE(d != at::kCPU || dtype == at::kBFloat16, "autocast: CPU autocast in LibTorch ", TORCH_VERSION,
                      " supports only bfloat16");
#endif
    SetState(d, info[1].As<Napi::Boolean>().Value(), dtype);
    return info.Env().Undefined();
  });
}

static Napi::Value AutocastEnter(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::autocast::increment_nesting());
}

static Napi::Value AutocastExit(const Napi::CallbackInfo& info) {
  int depth = at::autocast::decrement_nesting();
  if (depth == 0) at::autocast::clear_cache();  // as torch.autocast's __exit__: cached casts of weights go
  return Napi::Number::New(info.Env(), depth);
}

void RegisterAutocast(Napi::Env env, Napi::Object exports) {
  exports.Set("autocastGet", Napi::Function::New<AutocastGet>(env, "autocastGet"));
  exports.Set("autocastSet", Napi::Function::New<AutocastSet>(env, "autocastSet"));
  exports.Set("autocastEnter", Napi::Function::New<AutocastEnter>(env, "autocastEnter"));
  exports.Set("autocastExit", Napi::Function::New<AutocastExit>(env, "autocastExit"));
}

}  // namespace tg
