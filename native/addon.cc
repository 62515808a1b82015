// Addon entry: per-environment state, tidy scopes, grad mode, memory and build information.
#include "addon.h"
#include "guard.h"
#include "convert.h"
#include "tensor.h"
#include "registry.h"
#include "allocator.h"
#include <unordered_set>
#include <dlfcn.h>

namespace tg {

static Napi::Value ScopeBegin(const Napi::CallbackInfo& info) {
  Addon* addon = info.Env().GetInstanceData<Addon>();
  addon->scopes.push_back(std::make_unique<Scope>());
  return Napi::Number::New(info.Env(), static_cast<double>(addon->scopes.size() - 1));
}

// scopeEnd(depth, keep[]): tensors in keep move to the parent scope, the rest are disposed.
static Napi::Value ScopeEnd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = env.GetInstanceData<Addon>();
  size_t depth = static_cast<size_t>(ToInt(info[0], "scope"));
  if (depth == 0 || depth != addon->scopes.size() - 1)
    throw Napi::Error::New(env, "tidy(): scopes ended out of order (an async function inside tidy?)");
  Scope* scope = addon->scopes.back().get();
  Scope* parent = addon->scopes[depth - 1].get();
  if (info[1].IsArray()) {
    Napi::Array keep = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < keep.Length(); ++i) {
      TensorWrap* w = TensorWrap::UnwrapOrNull(keep.Get(i));
      if (w && w->scope() == scope) {
        w->LinkInto(parent);
        // Out of every tidy scope now: only GC can tell when it is unreachable.
        if (parent == addon->Global()) w->EnsureFinalizer(env, keep.Get(i));
      }
    }
  }
  while (scope->head) scope->head->Dispose();
  addon->scopes.pop_back();
  return env.Undefined();
}

// keep(t): the tensor leaves every tidy scope and lives until disposed.
static Napi::Value Keep(const Napi::CallbackInfo& info) {
  Addon* addon = info.Env().GetInstanceData<Addon>();
  TensorWrap* w = TensorWrap::UnwrapOrNull(info[0]);
  if (!w) throw Napi::TypeError::New(info.Env(), "keep(): expected a Tensor");
  if (!w->disposed()) {
    w->LinkInto(addon->Global());
    w->EnsureFinalizer(info.Env(), info[0]);
  }
  return info[0];
}

static Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = env.GetInstanceData<Addon>();
  std::unordered_set<const void*> seen;
  double cpuBytes = 0, cudaBytes = 0;
  size_t count = 0;
  for (auto& scope : addon->scopes) {
    for (TensorWrap* w = scope->head; w; w = w->next()) {
      count++;
      const at::Tensor& t = w->raw();
      if (!t.defined() || !t.has_storage()) continue;
      const void* key = t.storage().unsafeGetStorageImpl();
      if (!seen.insert(key).second) continue;
      double n = static_cast<double>(t.storage().nbytes());
      if (t.is_cuda()) cudaBytes += n;
      else cpuBytes += n;
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("tensors", Napi::Number::New(env, static_cast<double>(count)));
  out.Set("bytes", Napi::Number::New(env, cpuBytes));
  out.Set("cudaBytes", Napi::Number::New(env, cudaBytes));
  out.Set("scopes", Napi::Number::New(env, static_cast<double>(addon->scopes.size() - 1)));
  return out;
}

static Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(ToBool(info[0], true, "enabled"));
  return Napi::Boolean::New(info.Env(), prev);
}

static Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

static Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
#ifdef TG_WITH_CUDA
  out.Set("cuda", Napi::Boolean::New(env, true));
#else
  out.Set("cuda", Napi::Boolean::New(env, false));
#endif
  out.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI != 0));
  out.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  out.Set("threads", Napi::Number::New(env, at::get_num_threads()));
  out.Set("mallocTuned", Napi::Boolean::New(env, env.GetInstanceData<Addon>()->allocatorTuned));
  return out;
}

static Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::Boolean::New(info.Env(), at::hasCUDA()); });
}

static Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    int n = at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
    return Napi::Number::New(info.Env(), n);
  });
}

static Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
#ifdef TG_WITH_CUDA
    if (at::hasCUDA()) {
      // A tiny host copy waits for the current stream on every device used so far.
      for (int i = 0; i < static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()); ++i)
        at::empty({1}, at::TensorOptions().device(c10::Device(c10::kCUDA, i))).cpu();
    }
#endif
    return info.Env().Undefined();
  });
}

static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    int64_t n = ToInt(info[0], "threads");
    TORCH_CHECK_VALUE(n >= 1, "setNumThreads: expected at least 1 thread, got ", n);
    at::set_num_threads(static_cast<int>(n));
    // Debian's LibTorch does its matmuls in OpenBLAS, whose own thread pool at::set_num_threads leaves alone: without
    // this, "one thread" ran matmuls on every core (found by bench/demo.js: CPU time twice the wall time).
    using BlasSetThreads = void (*)(int);
    static auto blasSet = reinterpret_cast<BlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (blasSet) blasSet(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

static Napi::Value MkldnnIsAvailable(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::Boolean::New(info.Env(), at::hasMKLDNN()); });
}

static Napi::Value MkldnnEnabled(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::Boolean::New(info.Env(), at::globalContext().userEnabledMkldnn()); });
}

// torch.backends.mkldnn.enabled's switch: a workaround for oneDNN kernels that misbehave on a given build and CPU.
static Napi::Value SetMkldnnEnabled(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    TORCH_CHECK_TYPE(info.Length() >= 1 && info[0].IsBoolean(), "backends.mkldnn.enabled: expected a boolean");
    at::globalContext().setUserEnabledMkldnn(info[0].As<Napi::Boolean>().Value());
    return info.Env().Undefined();
  });
}

Addon::Addon(Napi::Env env, Napi::Object exports) {
  allocatorTuned = TuneAllocator();
  scopes.push_back(std::make_unique<Scope>());
  env.SetInstanceData<Addon>(this);
  TensorWrap::Init(env, exports, this);
  DefineAddon(exports, {
                           InstanceMethod("setErrorClass", &Addon::SetErrorClass),
                       });
  exports.Set("scopeBegin", Napi::Function::New<ScopeBegin>(env, "scopeBegin"));
  exports.Set("scopeEnd", Napi::Function::New<ScopeEnd>(env, "scopeEnd"));
  exports.Set("keep", Napi::Function::New<Keep>(env, "keep"));
  exports.Set("memory", Napi::Function::New<Memory>(env, "memory"));
  exports.Set("setGradEnabled", Napi::Function::New<SetGradEnabled>(env, "setGradEnabled"));
  exports.Set("isGradEnabled", Napi::Function::New<IsGradEnabled>(env, "isGradEnabled"));
  exports.Set("buildInfo", Napi::Function::New<BuildInfo>(env, "buildInfo"));
  exports.Set("cudaIsAvailable", Napi::Function::New<CudaIsAvailable>(env, "cudaIsAvailable"));
  exports.Set("cudaDeviceCount", Napi::Function::New<CudaDeviceCount>(env, "cudaDeviceCount"));
  exports.Set("cudaSynchronize", Napi::Function::New<CudaSynchronize>(env, "cudaSynchronize"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("mkldnnIsAvailable", Napi::Function::New<MkldnnIsAvailable>(env, "mkldnnIsAvailable"));
  exports.Set("mkldnnEnabled", Napi::Function::New<MkldnnEnabled>(env, "mkldnnEnabled"));
  exports.Set("setMkldnnEnabled", Napi::Function::New<SetMkldnnEnabled>(env, "setMkldnnEnabled"));
  // Bumped whenever the JS-native contract changes in a way an older or newer lib/ cannot use (lib/native.ts checks it).
  exports.Set("addonApi", Napi::Number::New(env, 6));
  RegisterAll(env, exports);
}

Addon::~Addon() {
  tearingDown = true;
  // Wrappers finalized after this point must not touch the scopes freed here.
  for (auto& scope : scopes) {
    TensorWrap* w = scope->head;
    while (w) {
      TensorWrap* next = w->next();
      w->DetachFromScope();
      w = next;
    }
  }
}

Napi::Value Addon::SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass: expected a class");
  torchErrorCtor = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace tg

using TorchgraftAddon = tg::Addon;
NODE_API_ADDON(TorchgraftAddon)
