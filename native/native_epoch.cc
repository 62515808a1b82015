// fit's native engine: one epoch of training steps run on a worker thread, so the JavaScript thread stays free. Each
// step is what lib/train/fit.ts does per batch, in the same order and with the same ops: gather the batch's rows with
// index_select (cast as the dataset casts), move it to the device, zero the gradients, run the traced step (forward,
// loss and metrics, recorded from the JS functions by tg.jit's tracer), backward, clip, optimizer step, then add the
// loss and metrics times the batch size into float64 sums.
//
// nativeEpoch(spec, onProgress) -> { promise, resume(stop: boolean), stop() }
//   spec.steps       [[rows, ScriptModule], ...]: the traced step for batches of that many rows; forward(x, y) returns
//                    (loss, metric, ...) as 0-d or one-element tensors
//   spec.fields      Tensor[]: the dataset's tensors (examples are rows); spec.casts: (dtype | null)[] per field
//   spec.order       int64 Tensor [N]: the epoch's visiting order; spec.batchSize, spec.dropLast
//   spec.optimizer   the native Optimizer (leased for the epoch: its JS methods throw ERR_OPTIMIZER_BUSY meanwhile)
//   spec.params      Tensor[] to clip; spec.clipNorm, spec.clipNormType, spec.clipValue (0 or absent: off)
//   spec.device      string | undefined: batches are moved there
//   spec.waitEachBatch  after each batch, report it and wait for resume() (onBatchEnd callbacks run in between)
//   spec.progressMs  otherwise, at most one report per this many milliseconds
// onProgress(batchesDone, size, loss, sums: number[], count) runs on the JS thread; `loss` is the last batch's.
// The promise resolves { batches, count, sums, stopped } after the last batch or after stop()/resume(true); it rejects
// with the step's error (a LibTorch error, or ERR_NONFINITE_LOSS before the optimizer step that would spread a NaN),
// leaving the parameters at the last completed step. A worker_thread that ends mid-epoch stops it after the batch.
#include "optimizer.h"
#include "script_module.h"
#include "addon.h"
#include "convert.h"
#include "guard.h"
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>

namespace tg {
namespace {

// What the JS thread and the worker share: the stop request and the per-batch handshake.
struct Control {
  std::mutex mu;
  std::condition_variable cv;
  bool waiting = false;  // the worker reported a batch and waits for resume()
  bool resumed = false;
  std::atomic<bool> stop{false};
  std::atomic<bool> optimizerGone{false};  // disposed while the worker waited

  // Called on the JS thread; `opt` (the waiting worker's optimizer) is leased back before the worker goes on.
  void Resume(bool stopNow, OptimizerWrap* opt) {
    std::lock_guard<std::mutex> lock(mu);
    if (stopNow) stop = true;
    if (waiting) {
      if (opt) {
        try {
          opt->Lease();
        } catch (...) {
          optimizerGone = true;
        }
      }
      waiting = false;
      resumed = true;
    }
    cv.notify_all();
  }
  void BeginWait() {
    std::lock_guard<std::mutex> lock(mu);
    waiting = true;
  }
  void WaitResume() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return resumed || stop.load(); });
    resumed = false;
  }
};

struct Progress {
  int64_t batches = 0, size = 0, count = 0;
  double loss = 0;
  std::vector<double> sums;
};

struct Spec {
  std::map<int64_t, torch::jit::Module> steps;
  std::vector<at::Tensor> fields;
  std::vector<std::optional<at::ScalarType>> casts;
  at::Tensor order;
  int64_t batchSize = 32;
  bool dropLast = false;
  std::vector<at::Tensor> params;
  double clipNorm = 0, clipNormType = 2, clipValue = 0;
  std::optional<c10::Device> device;
  bool waitEachBatch = false;
  double progressMs = 100;
};

Spec ReadSpec(Napi::Object o) {
  Napi::Env env = o.Env();
  Spec s;
  Napi::Value steps = o.Get("steps");
  if (!steps.IsArray()) throw Napi::TypeError::New(env, "nativeEpoch: spec.steps must be [[rows, ScriptModule], ...]");
  Napi::Array a = steps.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    ScriptModuleWrap* m = e.IsArray() ? ScriptModuleWrap::UnwrapOrNull(e.As<Napi::Array>().Get(1u)) : nullptr;
    if (!m) throw Napi::TypeError::New(env, "nativeEpoch: spec.steps must be [[rows, ScriptModule], ...]");
    s.steps.emplace(ToInt(e.As<Napi::Array>().Get(0u), "rows"), m->module());
  }
  s.fields = ToTensorList(o.Get("fields"), "fields");
  TORCH_CHECK_VALUE(s.fields.size() >= 2, "nativeEpoch: needs at least two fields (inputs and targets)");
  Napi::Value casts = o.Get("casts");
  for (size_t i = 0; i < s.fields.size(); ++i) {
    Napi::Value c = casts.IsArray() ? casts.As<Napi::Array>().Get(static_cast<uint32_t>(i)) : env.Undefined();
    s.casts.push_back(c.IsString() ? std::optional<at::ScalarType>(ToDtype(c, "cast")) : std::nullopt);
  }
  s.order = ToTensor(o.Get("order"), "order");
  TORCH_CHECK_VALUE(s.order.dim() == 1 && s.order.scalar_type() == at::kLong && s.order.device().is_cpu(),
                    "nativeEpoch: order must be a 1-d int64 CPU tensor");
  s.batchSize = ToInt(o.Get("batchSize"), "batchSize");
  TORCH_CHECK_VALUE(s.batchSize >= 1, "nativeEpoch: batchSize must be >= 1");
  s.dropLast = ToBool(o.Get("dropLast"), false, "dropLast");
  if (o.Has("params") && !o.Get("params").IsUndefined()) s.params = ToTensorList(o.Get("params"), "params");
  auto number = [&](const char* key, double fallback) {
    Napi::Value v = o.Get(key);
    return v.IsUndefined() || v.IsNull() ? fallback : ToDouble(v, key);
  };
  s.clipNorm = number("clipNorm", 0);
  s.clipNormType = number("clipNormType", 2);
  s.clipValue = number("clipValue", 0);
  s.progressMs = number("progressMs", 100);
  Napi::Value device = o.Get("device");
  if (!device.IsUndefined() && !device.IsNull()) s.device = ToDevice(device, "device");
  s.waitEachBatch = ToBool(o.Get("waitEachBatch"), false, "waitEachBatch");
  return s;
}

class EpochWorker : public Napi::AsyncProgressWorker<Progress> {
 public:
  EpochWorker(Napi::Env env, Spec spec, OptimizerWrap* opt, Napi::Object optObj, Napi::Function onProgress,
              std::shared_ptr<Control> control)
      : Napi::AsyncProgressWorker<Progress>(env, "torchgraft.nativeEpoch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        spec_(std::move(spec)),
        opt_(opt),
        control_(std::move(control)) {
    optRef_ = Napi::Persistent(optObj);  // keeps the optimizer alive for the epoch
    onProgress_ = Napi::Persistent(onProgress);
    napi_add_env_cleanup_hook(env, &EpochWorker::OnEnvCleanup, control_.get());
  }
  ~EpochWorker() override { Unhook(); }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    try {
      Run(progress);
    } catch (const CodedError& e) {
      code_ = e.code;
      SetError(e.what());
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      auto pos = what.find("\nException raised from");
      SetError(pos == std::string::npos ? what : what.substr(0, pos));
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnProgress(const Progress* p, size_t n) override {
    if (!p || n == 0) return;
    Napi::Env env = Env();
    Napi::Array sums = Napi::Array::New(env, p->sums.size());
    for (size_t i = 0; i < p->sums.size(); ++i) sums.Set(static_cast<uint32_t>(i), p->sums[i]);
    try {
      onProgress_.Call({Napi::Number::New(env, static_cast<double>(p->batches)), Napi::Number::New(env, static_cast<double>(p->size)),
                        Napi::Number::New(env, p->loss), sums, Napi::Number::New(env, static_cast<double>(p->count))});
    } catch (const Napi::Error&) {
      control_->Resume(true, nullptr);  // the JS side failed: end the epoch rather than wait for a resume that never comes
    }
  }

  void OnOK() override {
    Finish();
    Napi::Env env = Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("batches", static_cast<double>(done_.batches));
    r.Set("count", static_cast<double>(done_.count));
    Napi::Array sums = Napi::Array::New(env, done_.sums.size());
    for (size_t i = 0; i < done_.sums.size(); ++i) sums.Set(static_cast<uint32_t>(i), done_.sums[i]);
    r.Set("sums", sums);
    r.Set("stopped", Napi::Boolean::New(env, stopped_));
    deferred_.Resolve(r);
  }

  void OnError(const Napi::Error& e) override {
    Finish();
    Napi::Env env = Env();
    Addon* addon = env.GetInstanceData<Addon>();
    Napi::Object err = addon->torchErrorCtor.IsEmpty() ? Napi::Error::New(env, e.Message()).Value()
                                                       : addon->torchErrorCtor.New({Napi::String::New(env, e.Message())});
    if (code_) err.Set("code", Napi::String::New(env, code_));
    err.Set("batch", static_cast<double>(done_.batches));
    deferred_.Reject(err);
  }

 private:
  static void OnEnvCleanup(void* arg) { static_cast<Control*>(arg)->Resume(true, nullptr); }
  void Unhook() {
    if (hooked_) napi_remove_env_cleanup_hook(Env(), &EpochWorker::OnEnvCleanup, control_.get());
    hooked_ = false;
  }
  void Finish() {
    Unhook();
    opt_->Unlease();
  }

  void Run(const ExecutionProgress& progress) {
    at::AutoGradMode grad(true);
    const int64_t n = spec_.order.size(0);
    const int64_t end = spec_.dropLast ? n - n % spec_.batchSize : n;
    const int64_t* order = spec_.order.data_ptr<int64_t>();
    std::vector<at::Tensor> sums;
    auto last = std::chrono::steady_clock::now();
    for (int64_t start = 0; start < end; start += spec_.batchSize) {
      if (control_->stop) {
        stopped_ = true;
        break;
      }
      const int64_t rows = std::min(spec_.batchSize, end - start);
      auto it = spec_.steps.find(rows);
      TORCH_CHECK(it != spec_.steps.end(), "nativeEpoch: no traced step for batches of ", rows, " rows");
      at::Tensor idx = at::from_blob(const_cast<int64_t*>(order + start), {rows}, at::kLong).clone();
      std::vector<at::Tensor> batch;
      for (size_t k = 0; k < 2; ++k) {
        const at::Tensor& f = spec_.fields[k];
        at::Tensor b = f.index_select(0, f.device().is_cpu() ? idx : idx.to(f.device()));
        if (spec_.casts[k] && b.scalar_type() != *spec_.casts[k]) b = b.to(*spec_.casts[k]);
        if (spec_.device && b.device() != *spec_.device) b = b.to(*spec_.device);
        batch.push_back(std::move(b));
      }
      opt_->ZeroGradNow();
      torch::jit::IValue out = it->second.forward({batch[0], batch[1]});
      std::vector<at::Tensor> values;
      if (out.isTuple())
        for (auto& v : out.toTupleRef().elements()) values.push_back(v.toTensor());
      else
        values.push_back(out.toTensor());
      const at::Tensor& loss = values[0];
      const double lossValue = loss.item<double>();
      if (!std::isfinite(lossValue))
        throw CodedError("fit (native engine): the loss is " + std::string(std::isnan(lossValue) ? "NaN" : "infinite") +
                             " at batch " + std::to_string(done_.batches) +
                             "; the parameters are left as after the previous batch (lower the learning rate, check the "
                             "inputs for NaN, or clip gradients with clipGradNorm)",
                         "ERR_NONFINITE_LOSS");
      torch::autograd::backward({loss});
      if (spec_.clipValue > 0) ClipGradValueOf(spec_.params, spec_.clipValue);
      if (spec_.clipNorm > 0) ClipGradNormOf(spec_.params, spec_.clipNorm, spec_.clipNormType);
      opt_->StepNow();
      {
        at::NoGradGuard noGrad;
        if (sums.empty())
          for (auto& v : values) sums.push_back(v.detach().reshape({}).to(at::kDouble, false, true).zero_());
        for (size_t k = 0; k < values.size(); ++k) sums[k].add_(values[k].reshape({}), rows);
      }
      done_.batches++;
      done_.count += rows;
      done_.size = rows;
      done_.loss = lossValue;
      auto now = std::chrono::steady_clock::now();
      if (spec_.waitEachBatch || std::chrono::duration<double, std::milli>(now - last).count() >= spec_.progressMs) {
        last = now;
        if (spec_.waitEachBatch) {
          // JS owns the optimizer while its onBatchEnd callbacks run (a scheduler sets the lr); resume() takes it back.
          control_->BeginWait();
          opt_->Unlease();
          Report(progress, sums);
          control_->WaitResume();
          if (control_->optimizerGone)
            throw CodedError("fit: the optimizer was disposed during the epoch", "ERR_OPTIMIZER_DISPOSED");
        } else {
          Report(progress, sums);
        }
      }
    }
    if (control_->stop) stopped_ = true;
    done_.sums.clear();
    for (auto& s : sums) done_.sums.push_back(s.item<double>());
  }

  void Report(const ExecutionProgress& progress, const std::vector<at::Tensor>& sums) {
    Progress p = done_;
    p.sums.clear();
    for (auto& s : sums) p.sums.push_back(s.item<double>());
    progress.Send(&p, 1);
  }

  Napi::Promise::Deferred deferred_;
  Spec spec_;
  OptimizerWrap* opt_;
  Napi::ObjectReference optRef_;
  Napi::FunctionReference onProgress_;
  std::shared_ptr<Control> control_;
  Progress done_;
  bool stopped_ = false;
  bool hooked_ = true;
  const char* code_ = nullptr;
};

Napi::Value NativeEpoch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsObject() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "nativeEpoch(spec, onProgress): expected a spec object and a function");
    Napi::Object o = info[0].As<Napi::Object>();
    Spec spec = ReadSpec(o);
    OptimizerWrap* opt = OptimizerWrap::UnwrapOrNull(o.Get("optimizer"));
    if (!opt) throw Napi::TypeError::New(env, "nativeEpoch: spec.optimizer must be a native Optimizer");
    opt->Lease();
    auto control = std::make_shared<Control>();
    EpochWorker* worker;
    try {
      worker = new EpochWorker(env, std::move(spec), opt, o.Get("optimizer").As<Napi::Object>(), info[1].As<Napi::Function>(),
                               control);
    } catch (...) {
      opt->Unlease();
      throw;
    }
    Napi::Object handle = Napi::Object::New(env);
    handle.Set("promise", worker->Promise());
    handle.Set("resume", Napi::Function::New(env, [control, opt](const Napi::CallbackInfo& i) {
                 // The lease is taken back here, on the JS thread, so that JS code after resume() finds it busy.
                 control->Resume(i[0].ToBoolean().Value(), opt);
                 return i.Env().Undefined();
               }, "resume"));
    handle.Set("stop", Napi::Function::New(env, [control](const Napi::CallbackInfo& i) {
                 control->Resume(true, nullptr);
                 return i.Env().Undefined();
               }, "stop"));
    worker->Queue();
    return handle;
  });
}

}  // namespace

void RegisterNativeEpoch(Napi::Env env, Napi::Object exports) {
  exports.Set("nativeEpoch", Napi::Function::New<NativeEpoch>(env, "nativeEpoch"));
}

}  // namespace tg
