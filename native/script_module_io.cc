// Loading and saving TorchScript archives off the JavaScript thread; every refusal is a TorchError naming the file.
#include "script_module.h"
#include "convert.h"
#include "guard.h"
#include "addon.h"
#include "file_io.h"
#include <torch/csrc/jit/serialization/import.h>
#include <unistd.h>

namespace tg {
namespace {

class LoadWorker : public FileWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, Napi::FunctionReference* ctor)
      : FileWorker(env, "torchgraft.torchscript.load", "loadTorchScript", std::move(path), "ERR_TORCHSCRIPT"), ctor_(ctor) {}

 protected:
  void Run() override {
    // A FIFO or a device would block the worker or read forever.
    OpenRegularFile(path_);
    module_ = torch::jit::load(path_, c10::Device(c10::kCPU));
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      deferred_.Resolve(ScriptModuleWrap::Make(*ctor_, module_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Napi::FunctionReference* ctor_;
  torch::jit::Module module_;
};


class SaveWorker : public FileWorker {
 public:
  SaveWorker(Napi::Env env, std::string path, torch::jit::Module module)
      : FileWorker(env, "torchgraft.torchscript.save", "ScriptModule.save", std::move(path), "ERR_TORCHSCRIPT_SAVE"), module_(std::move(module)) {}

 protected:
  void Run() override {
    // The caller (lib/io/atomic.ts) names a fresh temporary and renames it into place: here the archive only needs to
    // be complete and durable at path_, or absent.
    try {
      module_.save(path_);
      FsyncPath(path_);
    } catch (...) {
      ::unlink(path_.c_str());
      throw;
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    deferred_.Resolve(Env().Undefined());
  }

 private:
  torch::jit::Module module_;
};

Napi::Value Load(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* ctor = static_cast<Napi::FunctionReference*>(info.Data());
    auto* worker = new LoadWorker(info.Env(), PathArg(info[0], "loadTorchScript"), ctor);
    return QueueFileWorker(worker);
  });
}

}  // namespace

Napi::Value ScriptModuleSave(const Napi::CallbackInfo& info, const torch::jit::Module& module) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* worker = new SaveWorker(info.Env(), PathArg(info[0], "ScriptModule.save"), module);
    return QueueFileWorker(worker);
  });
}

void RegisterScriptModuleLoad(Napi::Env env, Napi::Object exports, Napi::FunctionReference* ctor) {
  exports.Set("scriptModuleLoad", Napi::Function::New(env, Load, "scriptModuleLoad", ctor));
}

}  // namespace tg
