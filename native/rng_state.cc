// Getting and setting the default random generators' states (CPU and each CUDA device), under their locks.
#include "rng_state.h"
#include "convert.h"
#include "tensor.h"
#include "guard.h"
#include <ATen/CPUGeneratorImpl.h>

namespace tg {
namespace {

int CudaDevices() { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; }

at::Tensor GetState(at::Generator gen) {
  // See LibTorch's note "Acquire lock when using random generators".
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void SetState(at::Generator gen, const at::Tensor& state) {
  TORCH_CHECK(state.device().is_cpu() && state.scalar_type() == at::kByte,
              "a generator state must be a uint8 CPU tensor, got ", state.scalar_type(), " on ", state.device());
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state.contiguous());
}

at::Generator CudaGenerator(int i) { return at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i))); }

Napi::Value RngGetState(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value { return TensorWrap::Make(info.Env(), GetState(at::detail::getDefaultCPUGenerator())); });
}

Napi::Value RngSetState(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    SetState(at::detail::getDefaultCPUGenerator(), ToTensor(info[0], "rngSetState(state)"));
    return info.Env().Undefined();
  });
}

Napi::Value RngGetCudaStates(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    int n = CudaDevices();
    Napi::Array out = Napi::Array::New(info.Env(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) out.Set(static_cast<uint32_t>(i), TensorWrap::Make(info.Env(), GetState(CudaGenerator(i))));
    return out;
  });
}

Napi::Value RngSetCudaStates(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    std::vector<at::Tensor> states = ToTensorList(info[0], "rngSetCudaStates(states)");
    int n = std::min(CudaDevices(), static_cast<int>(states.size()));
    for (int i = 0; i < n; ++i) SetState(CudaGenerator(i), states[i]);
    return info.Env().Undefined();
  });
}

}  // namespace

void RegisterRngState(Napi::Env env, Napi::Object exports) {
  exports.Set("rngGetState", Napi::Function::New(env, RngGetState, "rngGetState"));
  exports.Set("rngSetState", Napi::Function::New(env, RngSetState, "rngSetState"));
  exports.Set("rngGetCudaStates", Napi::Function::New(env, RngGetCudaStates, "rngGetCudaStates"));
  exports.Set("rngSetCudaStates", Napi::Function::New(env, RngSetCudaStates, "rngSetCudaStates"));
}

}  // namespace tg
