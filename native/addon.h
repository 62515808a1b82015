// Per-environment state of the addon (context-aware: one instance per main thread or worker_thread).
#pragma once
#include "pch.h"
#include "scope.h"
#include "tensor.h"

namespace tg {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  ~Addon();

  Napi::FunctionReference tensorCtor;      // the Tensor class (lib/tensor-class.ts), set by setTensorClass
  Napi::FunctionReference handleOf;        // its brand check: the handle of a Tensor, -1 for anything else
  Napi::Reference<Napi::Value> tensorToken;  // what its constructor requires, so that `new Tensor()` is refused
  Napi::FunctionReference torchErrorCtor;  // TorchError, registered from TypeScript
  Napi::FunctionReference optimizerCtor;   // the native Optimizer class, to recognise its instances

  // Scope stack: scopes[0] is the global scope, never ended.
  std::vector<std::unique_ptr<Scope>> scopes;
  Scope* Current() { return scopes.back().get(); }
  Scope* Global() { return scopes.front().get(); }
  TensorTable tensors;                     // every tensor slot of this instance
  size_t liveTensors = 0;
  bool tearingDown = false;
  bool allocatorTuned = false;             // TuneAllocator() took effect (reported by buildInfo)

 private:
  Napi::Value SetErrorClass(const Napi::CallbackInfo& info);
};

}  // namespace tg
