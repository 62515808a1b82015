// Loading and saving TorchScript archives off the JavaScript thread; every refusal is a TorchError naming the file.
#include "script_module.h"
#include "convert.h"
#include "guard.h"
#include "addon.h"
#include <torch/csrc/jit/serialization/import.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tg {
namespace {

// LibTorch messages may carry a C++ frame list; keep the human part.
std::string Trim(std::string s) {
  auto pos = s.find("\nException raised from");
  if (pos != std::string::npos) s.resize(pos);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct IoError : std::runtime_error {
  std::string code;
  IoError(std::string c, const std::string& msg) : std::runtime_error(msg), code(std::move(c)) {}
};

class ScriptWorker : public Napi::AsyncWorker {
 public:
  ScriptWorker(Napi::Env env, const char* name, const char* fn, std::string path, const char* code)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), fn_(fn), path_(std::move(path)), code_(code) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() final {
    try {
      Run();
    } catch (const IoError& e) {
      code_ = e.code;
      SetError(Prefix() + e.what());
    } catch (const c10::Error& e) {
      SetError(Prefix() + Trim(e.what_without_backtrace()));
    } catch (const std::bad_alloc&) {
      code_ = "ERR_OUT_OF_MEMORY";
      SetError(Prefix() + "out of memory");
    } catch (const std::exception& e) {
      SetError(Prefix() + Trim(e.what()));
    } catch (...) {
      SetError(Prefix() + "unknown native error");
    }
  }
  void OnError(const Napi::Error& e) final {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Addon* addon = env.GetInstanceData<Addon>();
    Napi::Object err = addon && !addon->torchErrorCtor.IsEmpty() ? addon->torchErrorCtor.New({Napi::String::New(env, e.Message())})
                                                                 : Napi::Error::New(env, e.Message()).Value();
    err.Set("code", Napi::String::New(env, code_));
    err.Set("path", Napi::String::New(env, path_));
    deferred_.Reject(err);
  }

 protected:
  virtual void Run() = 0;
  std::string Prefix() const { return fn_ + ": '" + path_ + "': "; }
  [[noreturn]] void FailErrno(const std::string& what, int err) { throw IoError("ERR_IO", what + ": " + std::strerror(err)); }

  Napi::Promise::Deferred deferred_;
  std::string fn_;
  std::string path_;
  std::string code_;
};

class LoadWorker : public ScriptWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, Napi::FunctionReference* ctor)
      : ScriptWorker(env, "torchgraft.torchscript.load", "loadTorchScript", std::move(path), "ERR_TORCHSCRIPT"), ctor_(ctor) {}

 protected:
  void Run() override {
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0) FailErrno("cannot open it", errno);
    // A FIFO or a device would block the worker or read forever.
    if (!S_ISREG(st.st_mode)) throw IoError("ERR_IO", "not a regular file");
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


class SaveWorker : public ScriptWorker {
 public:
  SaveWorker(Napi::Env env, std::string path, torch::jit::Module module)
      : ScriptWorker(env, "torchgraft.torchscript.save", "ScriptModule.save", std::move(path), "ERR_TORCHSCRIPT_SAVE"), module_(std::move(module)) {}

 protected:
  void Run() override {
    // The caller (lib/io/atomic.ts) names a fresh temporary and renames it into place: here the archive only needs to
    // be complete and durable at path_, or absent.
    try {
      module_.save(path_);
      int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) FailErrno("cannot reopen the written file", errno);
      int rc = ::fsync(fd);
      int err = errno;
      ::close(fd);
      if (rc != 0) FailErrno("fsync failed", err);
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

std::string PathArg(const Napi::Value& v, const char* fn) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path must be a string");
  std::string p = v.As<Napi::String>().Utf8Value();
  if (p.empty()) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path must not be empty");
  if (p.find('\0') != std::string::npos) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path contains a NUL character");
  return p;
}

Napi::Value Load(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* ctor = static_cast<Napi::FunctionReference*>(info.Data());
    auto* worker = new LoadWorker(info.Env(), PathArg(info[0], "loadTorchScript"), ctor);
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  });
}

}  // namespace

Napi::Value ScriptModuleSave(const Napi::CallbackInfo& info, const torch::jit::Module& module) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* worker = new SaveWorker(info.Env(), PathArg(info[0], "ScriptModule.save"), module);
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  });
}

void RegisterScriptModuleLoad(Napi::Env env, Napi::Object exports, Napi::FunctionReference* ctor) {
  exports.Set("scriptModuleLoad", Napi::Function::New(env, Load, "scriptModuleLoad", ctor));
}

}  // namespace tg
