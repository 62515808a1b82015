// The ScriptModule class: a TorchScript module's tree, tensors, methods and source, over torch::jit::Module.
#include "script_module.h"
#include "registry.h"
#include "ivalue_convert.h"
#include "convert.h"
#include "tensor.h"
#include "guard.h"
#include "file_io.h"
#include <torch/csrc/jit/serialization/python_print.h>
#include <unordered_map>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tg {
namespace {

const napi_type_tag kScriptModuleTag = {0x7467726166745343ULL, 0x726970744d6f6431ULL};

// A module handed from Make() to the constructor (JS thread only, one at a time).
thread_local torch::jit::Module* pendingModule = nullptr;
thread_local Napi::FunctionReference* pendingCtor = nullptr;

std::string KeyOf(const void* p) { return std::to_string(reinterpret_cast<uintptr_t>(p)); }

template <typename List>
Napi::Value TensorTriples(Napi::Env env, const List& list) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& item : list) {
    Napi::Array triple = Napi::Array::New(env, 3);
    triple.Set(uint32_t{0}, Napi::String::New(env, item.name));
    triple.Set(uint32_t{1}, TensorWrap::Make(env, item.value));
    triple.Set(uint32_t{2}, Napi::String::New(env, KeyOf(item.value.unsafeGetTensorImpl())));
    out.Set(i++, triple);
  }
  return out;
}

std::string MethodArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (i < info.Length() && info[i].IsString()) return info[i].As<Napi::String>().Utf8Value();
  if (i >= info.Length() || info[i].IsUndefined()) return "forward";
  throw Napi::TypeError::New(info.Env(), std::string(fn) + ": the method name must be a string");
}

}  // namespace

Napi::Function ScriptModuleWrap::Init(Napi::Env env, Napi::FunctionReference* ctor) {
  Napi::Function cls = DefineClass(env, "ScriptModule", {
      InstanceAccessor<&ScriptModuleWrap::GetTypeName>("typeName"),
      InstanceAccessor<&ScriptModuleWrap::GetTraining>("training"),
      InstanceMethod<&ScriptModuleWrap::SetTraining>("setTraining"),
      InstanceMethod<&ScriptModuleWrap::NamedParameters>("namedParameters"),
      InstanceMethod<&ScriptModuleWrap::NamedBuffers>("namedBuffers"),
      InstanceMethod<&ScriptModuleWrap::NamedChildren>("namedChildren"),
      InstanceMethod<&ScriptModuleWrap::SetAttr>("setAttr"),
      InstanceMethod<&ScriptModuleWrap::MethodNames>("methodNames"),
      InstanceMethod<&ScriptModuleWrap::Forward>("forward"),
      InstanceMethod<&ScriptModuleWrap::ForwardAsync>("forwardAsync"),
      InstanceMethod<&ScriptModuleWrap::RunMethod>("runMethod"),
      InstanceMethod<&ScriptModuleWrap::Schema>("schema"),
      InstanceMethod<&ScriptModuleWrap::Code>("code"),
      InstanceMethod<&ScriptModuleWrap::Graph>("graph"),
      InstanceMethod<&ScriptModuleWrap::To>("to"),
      InstanceMethod<&ScriptModuleWrap::Save>("save"),
  });
  *ctor = Napi::Persistent(cls);
  return cls;
}

Napi::Value ScriptModuleWrap::Make(Napi::FunctionReference& ctor, torch::jit::Module m) {
  pendingModule = &m;
  pendingCtor = &ctor;
  Napi::Object obj;
  try {
    obj = ctor.New({});
  } catch (...) {
    pendingModule = nullptr;
    throw;
  }
  pendingModule = nullptr;
  return obj;
}

ScriptModuleWrap::ScriptModuleWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ScriptModuleWrap>(info) {
  if (!pendingModule) throw Napi::TypeError::New(info.Env(), "ScriptModule cannot be constructed directly: use tg.io.loadTorchScript(path)");
  module_ = *pendingModule;
  ctor_ = pendingCtor;
  pendingModule = nullptr;
  napi_type_tag_object(info.Env(), info.This(), &kScriptModuleTag);
}

ScriptModuleWrap* ScriptModuleWrap::UnwrapOrNull(Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  bool tagged = false;
  napi_check_object_type_tag(v.Env(), v, &kScriptModuleTag, &tagged);
  return tagged ? Unwrap(v.As<Napi::Object>()) : nullptr;
}

Napi::Value ScriptModuleWrap::GetTypeName(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    const auto& name = module_.type()->name();
    return Napi::String::New(info.Env(), name ? name->qualifiedName() : std::string("<unnamed>"));
  });
}

Napi::Value ScriptModuleWrap::GetTraining(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), module_.is_training()); });
}

Napi::Value ScriptModuleWrap::SetTraining(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    bool on = ToBool(info[0], true, "setTraining(on)");
    auto slot = module_.type()->findAttributeSlot("training");
    // Every scripted nn.Module has the flag; a module without one behaves the same either way.
    if (slot) module_._ivalue()->setSlot(*slot, c10::IValue(on));
    return info.Env().Undefined();
  });
}

Napi::Value ScriptModuleWrap::NamedParameters(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value { return TensorTriples(info.Env(), module_.named_parameters(/*recurse=*/false)); });
}

Napi::Value ScriptModuleWrap::NamedBuffers(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value { return TensorTriples(info.Env(), module_.named_buffers(/*recurse=*/false)); });
}

Napi::Value ScriptModuleWrap::NamedChildren(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    for (const auto& child : module_.named_children()) {
      Napi::Array triple = Napi::Array::New(env, 3);
      triple.Set(uint32_t{0}, Napi::String::New(env, child.name));
      triple.Set(uint32_t{1}, Make(*ctor_, child.value));
      triple.Set(uint32_t{2}, Napi::String::New(env, KeyOf(child.value._ivalue().get())));
      out.Set(i++, triple);
    }
    return out;
  });
}

Napi::Value ScriptModuleWrap::SetAttr(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    std::string name = ToString(info[0], "setAttr(name)");
    const at::Tensor& t = ToTensor(info[1], "setAttr(tensor)");
    auto type = module_.type();
    auto slot = type->findAttributeSlot(name);
    TORCH_CHECK(slot && (type->is_parameter(*slot) || type->is_buffer(*slot)), "ScriptModule.setAttr: '", name,
                "' is not a parameter or buffer of ", type->repr_str());
    module_._ivalue()->setSlot(*slot, c10::IValue(t));
    return info.Env().Undefined();
  });
}

Napi::Value ScriptModuleWrap::MethodNames(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Array out = Napi::Array::New(info.Env());
    uint32_t i = 0;
    for (const auto& m : module_.get_methods()) out.Set(i++, Napi::String::New(info.Env(), m.name()));
    return out;
  });
}

torch::jit::Method ScriptModuleWrap::MethodOrThrow(Napi::Env env, const std::string& name) {
  if (auto m = module_.find_method(name)) return *m;
  std::string have;
  for (const auto& m : module_.get_methods()) have += (have.empty() ? "" : ", ") + m.name();
  ThrowTorchError(env, "ScriptModule (" + module_.type()->repr_str() + ") has no method '" + name + "'; its methods: " +
                           (have.empty() ? std::string("(none)") : have), "ERR_TORCHSCRIPT_METHOD");
}

namespace {

// The JavaScript arguments info[first...] converted to the method's parameter types (trailing undefined: defaults).
std::vector<c10::IValue> MethodStack(const Napi::CallbackInfo& info, torch::jit::Method& method, const std::string& name, size_t first) {
  Napi::Env env = info.Env();
  const c10::FunctionSchema& schema = method.function().getSchema();
  const auto& args = schema.arguments();  // args[0] is self
  size_t given = info.Length() > first ? info.Length() - first : 0;
  while (given > 0 && info[first + given - 1].IsUndefined()) --given;
  if (given + 1 > args.size())
    throw Napi::TypeError::New(env, name + "(): takes " + std::to_string(args.size() - 1) + " argument(s), got " + std::to_string(given) +
                                        " (signature: " + c10::toString(schema) + ")");
  std::vector<c10::IValue> stack;
  stack.reserve(given);
  for (size_t i = 0; i < given; ++i)
    stack.push_back(ToIValue(info[first + i], args[i + 1].type(), name + "(): argument '" + args[i + 1].name() + "'"));
  return stack;
}

// forwardAsync: the method runs on a worker thread without gradient recording; the event loop stays free.
class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, torch::jit::Module module, torch::jit::Method method, std::vector<c10::IValue> stack)
      : Napi::AsyncWorker(env, "torchgraft.ScriptModule.forwardAsync"),
        deferred_(Napi::Promise::Deferred::New(env)),
        module_(std::move(module)),
        method_(std::move(method)),
        stack_(std::move(stack)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      at::NoGradGuard noGrad;
      out_ = method_(std::move(stack_));
#if defined(__GLIBC__)
      // the forward's intermediates were freed into this worker thread's malloc arena, which glibc keeps: with four
      // libuv threads that held ~260 MB for 8 MB outputs (a disk cache's build under a 512 MiB budget was OOM-killed)
      malloc_trim(0);
#endif
    } catch (const c10::Error& e) {
      SetError(TrimBacktrace(e.what_without_backtrace()));
    } catch (const std::bad_alloc&) {
      code_ = "ERR_OUT_OF_MEMORY";
      SetError("out of memory");
    } catch (const std::exception& e) {
      SetError(TrimBacktrace(e.what()));
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      deferred_.Resolve(FromIValue(env, out_, "forwardAsync()"));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    deferred_.Reject(TorchErrorValue(env, "forwardAsync(): " + e.Message(), code_.empty() ? nullptr : code_.c_str()));
  }

 private:
  Napi::Promise::Deferred deferred_;
  torch::jit::Module module_;  // keeps the method's module alive while the worker runs
  torch::jit::Method method_;
  std::vector<c10::IValue> stack_;
  c10::IValue out_;
  std::string code_;
};

}  // namespace

Napi::Value ScriptModuleWrap::Call(const Napi::CallbackInfo& info, const std::string& name, size_t first) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    torch::jit::Method method = MethodOrThrow(env, name);
    c10::IValue out = method(MethodStack(info, method, name, first));
    return FromIValue(env, out, name + "()");
  });
}

Napi::Value ScriptModuleWrap::ForwardAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    torch::jit::Method method = MethodOrThrow(env, "forward");
    auto* w = new ForwardWorker(env, module_, method, MethodStack(info, method, "forwardAsync", 0));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  });
}

Napi::Value ScriptModuleWrap::Forward(const Napi::CallbackInfo& info) { return Call(info, "forward", 0); }

Napi::Value ScriptModuleWrap::RunMethod(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "runMethod(name, ...args): the method name must be a string");
  return Call(info, info[0].As<Napi::String>().Utf8Value(), 1);
}

Napi::Value ScriptModuleWrap::Schema(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    torch::jit::Method m = MethodOrThrow(info.Env(), MethodArg(info, 0, "schema"));
    return Napi::String::New(info.Env(), c10::toString(m.function().getSchema()));
  });
}

Napi::Value ScriptModuleWrap::Code(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    torch::jit::Method m = MethodOrThrow(info.Env(), MethodArg(info, 0, "code"));
    std::vector<c10::IValue> constants;
    torch::jit::PrintDepsTable deps;
    torch::jit::PythonPrint printer(constants, deps);
    printer.printMethod(m.function());
    return Napi::String::New(info.Env(), printer.str());
  });
}

Napi::Value ScriptModuleWrap::Graph(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    torch::jit::Method m = MethodOrThrow(info.Env(), MethodArg(info, 0, "graph"));
    return Napi::String::New(info.Env(), m.graph()->toString());
  });
}

Napi::Value ScriptModuleWrap::To(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    std::optional<c10::Device> device;
    std::optional<at::ScalarType> dtype;
    if (!info[0].IsUndefined() && !info[0].IsNull()) device = ToDevice(info[0], "to(device)");
    if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) dtype = ToDtype(info[1], "to(dtype)");
    TORCH_CHECK(!dtype || at::isFloatingType(*dtype), "ScriptModule.to: a module converts to floating dtypes only, got ", *dtype);
    at::NoGradGuard noGrad;
    // Convert everything first and swap after, so a failure leaves the module untouched.
    std::unordered_map<c10::TensorImpl*, std::pair<at::Tensor, at::Tensor>> plan;  // tensor -> (new data, new grad)
    auto add = [&](const at::Tensor& t) {
      if (plan.count(t.unsafeGetTensorImpl())) return;
      at::ScalarType want = dtype && at::isFloatingType(t.scalar_type()) ? *dtype : t.scalar_type();
      c10::Device where = device ? *device : t.device();
      if (t.device() == where && t.scalar_type() == want) return;
      at::Tensor data = t.detach().to(where, want, /*non_blocking=*/false, /*copy=*/false);
      at::Tensor grad = t.grad().defined() ? t.grad().to(where, want) : at::Tensor();
      plan.emplace(t.unsafeGetTensorImpl(), std::make_pair(data, grad));
    };
    std::vector<at::Tensor> all;
    for (const at::Tensor& p : module_.parameters(/*recurse=*/true)) all.push_back(p);
    for (const at::Tensor& b : module_.buffers(/*recurse=*/true)) all.push_back(b);
    for (const at::Tensor& t : all) add(t);
    for (at::Tensor& t : all) {
      auto it = plan.find(t.unsafeGetTensorImpl());
      if (it == plan.end() || !it->second.first.defined()) continue;
      t.set_data(it->second.first);
      if (it->second.second.defined()) t.mutable_grad() = it->second.second;
      it->second.first = at::Tensor();  // done: a tensor listed twice is moved once
    }
    return info.Env().Undefined();
  });
}

Napi::Value ScriptModuleWrap::Save(const Napi::CallbackInfo& info) { return ScriptModuleSave(info, module_); }

void RegisterScriptModule(Napi::Env env, Napi::Object exports) {
  auto* ctor = new Napi::FunctionReference();
  exports.Set("ScriptModule", ScriptModuleWrap::Init(env, ctor));
  RegisterScriptModuleLoad(env, exports, ctor);
  RegisterJitTrace(env, exports, ctor);
  env.AddCleanupHook([ctor]() { delete ctor; });
}

}  // namespace tg
