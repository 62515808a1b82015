// tg.jit.trace's native half: LibTorch's own tracer records the aten ops that a forward written in JavaScript performs
// (the JS callback runs on the tracing thread, so the addon's calls are recorded as Python's are), into the `forward`
// of a new TorchScript module whose parameters and buffers are the JS module's own tensors (same TensorImpl): training
// either trains both. The module is savable as a TorchScript archive that Python's torch.jit.load runs.
//
// jitTrace(params: [name, Tensor][], buffers: [name, Tensor][], inputs: Tensor[], forward: (...Tensor) => Tensor |
//          Tensor[], training: boolean) -> { module: ScriptModule, nondeterministic: string[] }
// Dotted names make submodules (`0.weight` -> submodule `0`, parameter `weight`). A forward that throws ends the trace
// with its error; a forward that returns anything but a tensor or an array of tensors is a TypeError.
#include "script_module.h"
#include "tensor.h"
#include "guard.h"
#include "convert.h"
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/fixup_trace_scope_blocks.h>
#include <torch/csrc/jit/passes/normalize_ops.h>
#include <unordered_map>

namespace tg {

namespace {

using torch::jit::Module;

// A TorchScript class name for the submodule at `path` (the class names end up in the archive's code: identifiers).
std::string ClassName(const std::string& path) {
  std::string out = "__torch__.torchgraft.Traced";
  if (path.empty()) return out;
  out += "_";
  for (char c : path) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

struct Builder {
  std::shared_ptr<torch::jit::CompilationUnit> cu = std::make_shared<torch::jit::CompilationUnit>();
  Module root{c10::QualifiedName(ClassName("")), cu};
  std::unordered_map<std::string, Module> made;

  // The module that holds `dotted`'s last part, creating the submodules on the way; leaf gets that last part.
  Module Parent(const std::string& dotted, std::string& leaf) {
    Module m = root;
    std::string path;
    size_t start = 0;
    for (;;) {
      size_t dot = dotted.find('.', start);
      std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      TORCH_CHECK_VALUE(!part.empty(), "jit.trace: the name '", dotted, "' has an empty part");
      if (dot == std::string::npos) {
        leaf = part;
        return m;
      }
      path = path.empty() ? part : path + "." + part;
      auto it = made.find(path);
      if (it == made.end()) {
        Module child(c10::QualifiedName(ClassName(path)), cu);
        m.register_module(part, child);
        it = made.emplace(path, child).first;
      }
      m = it->second;
      start = dot + 1;
    }
  }

  void Add(Napi::Value entries, bool buffer) {
    Napi::Array a = entries.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value e = a.Get(i);
      if (!e.IsArray() || e.As<Napi::Array>().Length() < 2) throw Napi::TypeError::New(entries.Env(), "jit.trace: expected [name, Tensor] pairs");
      std::string name = ToString(e.As<Napi::Array>().Get(0u), "name"), leaf;
      const at::Tensor& t = ToTensor(e.As<Napi::Array>().Get(1u), "tensor");
      Module parent = Parent(name, leaf);
      TORCH_CHECK_VALUE(!parent.hasattr(leaf), "jit.trace: '", name, "' is named twice");
      if (buffer) parent.register_buffer(leaf, t);
      else parent.register_parameter(leaf, t, false);
    }
  }
};

torch::jit::IValue OutputOf(Napi::Value out) {
  if (IsTensor(out)) return ToTensor(out, "forward's output");
  if (out.IsArray()) {
    Napi::Array a = out.As<Napi::Array>();
    std::vector<torch::jit::IValue> items;
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value v = a.Get(i);
      if (!IsTensor(v)) throw Napi::TypeError::New(out.Env(), "jit.trace: forward must return a Tensor or an array of Tensors");
      items.emplace_back(ToTensor(v, "forward's output"));
    }
    return c10::ivalue::Tuple::create(std::move(items));
  }
  throw Napi::TypeError::New(out.Env(), "jit.trace: forward must return a Tensor or an array of Tensors");
}

Napi::Value Trace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* ctor = static_cast<Napi::FunctionReference*>(info.Data());
  return Guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray() || !info[3].IsFunction())
      throw Napi::TypeError::New(env, "jitTrace(params, buffers, inputs, forward, training)");
    TORCH_CHECK(!torch::jit::tracer::isTracing(), "jit.trace: a trace is already running (forward called jit.trace)");
    Builder b;
    b.Add(info[0], false);
    b.Add(info[1], true);
    b.root.train(ToBool(info[4], true, "training"));
    torch::jit::Stack inputs;
    Napi::Array in = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < in.Length(); ++i) inputs.emplace_back(ToTensor(in.Get(i), "input"));
    Napi::Function forward = info[3].As<Napi::Function>();
    auto traced = [&](torch::jit::Stack args) -> torch::jit::Stack {
      std::vector<napi_value> js;
      for (auto& v : args) js.push_back(TensorWrap::Make(env, v.toTensor()));
      Napi::Value out = forward.Call(js);
      return {OutputOf(out)};
    };
    auto result = torch::jit::tracer::trace(std::move(inputs), traced, [](const at::Tensor&) { return std::string(); },
                                            /*strict=*/false, /*force_outplace=*/false, &b.root);
    std::shared_ptr<torch::jit::Graph> graph = result.first->graph;
    torch::jit::FixupTraceScopeBlocks(graph, &b.root);
    torch::jit::NormalizeOps(graph);
    Napi::Array random = Napi::Array::New(env);
    for (torch::jit::Node* n : graph->nodes())
      if (n->isNondeterministic()) random.Set(random.Length(), Napi::String::New(env, n->kind().toQualString()));
    auto fn = b.root._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*b.root.type()->name(), "forward"), graph);
    b.root.type()->addMethod(fn);
    Napi::Object r = Napi::Object::New(env);
    r.Set("module", ScriptModuleWrap::Make(*ctor, b.root));
    r.Set("nondeterministic", random);
    return r;
  });
}

}  // namespace

void RegisterJitTrace(Napi::Env env, Napi::Object exports, Napi::FunctionReference* ctor) {
  exports.Set("jitTrace", Napi::Function::New(env, Trace, "jitTrace", ctor));
}

}  // namespace tg
