// The ScriptModule class: one JavaScript object per TorchScript module (torch::jit::Module), the root of a loaded
// archive or one of its submodules. Submodule objects share the underlying module with their parent, and the
// tensors handed out are the module's own (same TensorImpl), so requiresGrad, in-place updates and gradients act on
// the module that forward runs.
//
// Objects are type-tagged; they are made only by scriptModuleLoad and by namedChildren (the constructor throws).
// Every method throws TypeError for a wrong argument type and TorchError for what LibTorch refuses.
//
// JS methods (synchronous unless noted):
//   typeName                      getter: qualified TorchScript class name (`__torch__.torch.nn.modules.linear.Linear`)
//   training                      getter: this module's own `training` flag
//   setTraining(on: boolean)      sets this module's flag only (TypeScript walks the tree, as Module.train does)
//   namedParameters() -> [name, Tensor, key][]   this module's own parameters (not its children's), in slot order;
//                                 key (a string) is the same for the same tensor, so shared weights stay one tensor
//   namedBuffers() -> [name, Tensor, key][]      this module's own buffers
//   namedChildren() -> [name, ScriptModule, key][]  direct submodules; key identifies the shared module object
//   setAttr(name, tensor)         replaces a parameter or buffer slot (the slot must exist); TorchError otherwise
//   methodNames() -> string[]     the module's methods (`forward`, ...)
//   forward(...args) -> value     runs the module's forward on the JS thread, under the caller's grad mode. Arguments
//                                 are converted by the declared types (see ivalue_convert.h); a missing method, a wrong
//                                 count or type of argument is a TypeError/TorchError naming the method and the schema
//   runMethod(name, ...args) -> value   the same for any method
//   schema(name) -> string        the method's signature (`forward(__torch__.Net self, Tensor x) -> Tensor`)
//   code(name) -> string          the method's TorchScript source, as Python's `module.code` prints it
//   graph(name) -> string         the method's graph (IR) as text
//   to(device?: string, dtype?: string)  moves and/or converts in place (each tensor keeps its identity, as in PyTorch:
//                                 parameters and floating buffers take dtype; gradients move along). Throws TorchError
//                                 ERR_NO_CUDA for a CUDA device without CUDA.
//   save(path) -> Promise<undefined>  async: writes a TorchScript archive (torch.jit.save's format) to a temporary file
//                                 in the same folder, fsyncs it, renames it over path and fsyncs the folder; a failure
//                                 leaves any previous file intact and rejects with TorchError ERR_TORCHSCRIPT_SAVE or
//                                 ERR_IO naming the file. The worker holds its own handle on the module: in-place
//                                 changes before the promise settles race with the write.
// Free function (registered by RegisterScriptModule):
//   scriptModuleLoad(path) -> Promise<ScriptModule>  async: torch::jit::load with every tensor mapped to the CPU.
//                                 Rejects with TorchError (with `path`) ERR_IO when the file cannot be opened or is not
//                                 a regular file, ERR_TORCHSCRIPT for anything LibTorch refuses (not a zip, truncated, a
//                                 torch.save file, a corrupt record), never aborting. LibTorch trusts the pickles' memo
//                                 indices and lengths: lib/io/torchscript-check.ts validates them before this is called.
#pragma once
#include "pch.h"
#include <torch/csrc/jit/api/module.h>

namespace tg {

class ScriptModuleWrap : public Napi::ObjectWrap<ScriptModuleWrap> {
 public:
  // Defines the class; `ctor` keeps it for Make (owned by the environment's cleanup hook).
  static Napi::Function Init(Napi::Env env, Napi::FunctionReference* ctor);
  // Wraps m in a new JS ScriptModule.
  static Napi::Value Make(Napi::FunctionReference& ctor, torch::jit::Module m);
  static ScriptModuleWrap* UnwrapOrNull(Napi::Value v);

  explicit ScriptModuleWrap(const Napi::CallbackInfo& info);
  const torch::jit::Module& module() const { return module_; }

 private:
  Napi::Value GetTypeName(const Napi::CallbackInfo& info);
  Napi::Value GetTraining(const Napi::CallbackInfo& info);
  Napi::Value SetTraining(const Napi::CallbackInfo& info);
  Napi::Value NamedParameters(const Napi::CallbackInfo& info);
  Napi::Value NamedBuffers(const Napi::CallbackInfo& info);
  Napi::Value NamedChildren(const Napi::CallbackInfo& info);
  Napi::Value SetAttr(const Napi::CallbackInfo& info);
  Napi::Value MethodNames(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value ForwardAsync(const Napi::CallbackInfo& info);
  Napi::Value RunMethod(const Napi::CallbackInfo& info);
  Napi::Value Schema(const Napi::CallbackInfo& info);
  Napi::Value Code(const Napi::CallbackInfo& info);
  Napi::Value Graph(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);

  // Runs method `name` with info[first...] as its arguments.
  Napi::Value Call(const Napi::CallbackInfo& info, const std::string& name, size_t first);
  // The named method; throws TorchError listing the methods there are.
  torch::jit::Method MethodOrThrow(Napi::Env env, const std::string& name);

  torch::jit::Module module_;
  Napi::FunctionReference* ctor_ = nullptr;
};

// Shared by script_module.cc and script_module_io.cc.
Napi::Value ScriptModuleSave(const Napi::CallbackInfo& info, const torch::jit::Module& module);
void RegisterScriptModuleLoad(Napi::Env env, Napi::Object exports, Napi::FunctionReference* ctor);

// jitTrace (jit_trace.cc): builds a ScriptModule from a forward traced in JavaScript.
void RegisterJitTrace(Napi::Env env, Napi::Object exports, Napi::FunctionReference* ctor);

}  // namespace tg
