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
//   spec.inline      run on the calling (JS) thread, for epochs shorter than the hop to a pool thread and back
// onProgress(batchesDone, size, loss, sums: number[], count) runs on the JS thread; `loss` is the last batch's.
// The promise resolves { batches, count, sums, stopped } after the last batch or after stop()/resume(true); it rejects
// with the step's error (a LibTorch error, or ERR_NONFINITE_LOSS before the optimizer step that would spread a NaN),
// leaving the parameters at the last completed step. A worker_thread that ends mid-epoch stops it after the batch.
#include "optimizer.h"
#include "epoch_allocator.h"
#include "script_module.h"
#include "addon.h"
#include "convert.h"
#include "guard.h"
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
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

// One epoch's loop, run on a pool thread by EpochWorker or, for short epochs, on the JS thread itself.
struct EpochLoop {
  Spec spec;
  OptimizerWrap* opt;
  std::shared_ptr<Control> control;
  Progress done;
  bool stopped = false;

  // Runs the epoch; `report` (when given) gets the progress after each batch that should be reported.
  void Run(const std::function<void(const Progress&)>& report) {
    at::init_num_threads();  // this pool thread takes the intra-op thread count set with setNumThreads (OpenMP's is per thread)
    at::AutoGradMode grad(true);
    // The traced graph as recorded, op for op (the flag is per thread): no profiling runs, no autodiff subgraphs or
    // fusion, so that backward is eager autograd's, as in the JS loop.
    torch::jit::GraphOptimizerEnabledGuard asRecorded(false);
    RecycleCpuBlocks recycle;
    const int64_t n = spec.order.size(0);
    const int64_t end = spec.dropLast ? n - n % spec.batchSize : n;
    const int64_t* order = spec.order.data_ptr<int64_t>();
    std::vector<at::Tensor> sums;
    auto last = std::chrono::steady_clock::now();
    for (int64_t start = 0; start < end; start += spec.batchSize) {
      if (control->stop) {
        stopped = true;
        break;
      }
      const int64_t rows = std::min(spec.batchSize, end - start);
      auto it = spec.steps.find(rows);
      TORCH_CHECK(it != spec.steps.end(), "nativeEpoch: no traced step for batches of ", rows, " rows");
      at::Tensor idx = at::from_blob(const_cast<int64_t*>(order + start), {rows}, at::kLong).clone();
      std::vector<at::Tensor> batch;
      for (size_t k = 0; k < 2; ++k) {
        const at::Tensor& f = spec.fields[k];
        at::Tensor b = f.index_select(0, f.device().is_cpu() ? idx : idx.to(f.device()));
        if (spec.casts[k] && b.scalar_type() != *spec.casts[k]) b = b.to(*spec.casts[k]);
        if (spec.device && b.device() != *spec.device) b = b.to(*spec.device);
        batch.push_back(std::move(b));
      }
      opt->ZeroGradNow();
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
                             " at batch " + std::to_string(done.batches) +
                             "; the parameters are left as after the previous batch (lower the learning rate, check the "
                             "inputs for NaN, or clip gradients with clipGradNorm)",
                         "ERR_NONFINITE_LOSS");
      torch::autograd::backward({loss});
      if (spec.clipValue > 0) ClipGradValueOf(spec.params, spec.clipValue);
      if (spec.clipNorm > 0) ClipGradNormOf(spec.params, spec.clipNorm, spec.clipNormType);
      opt->StepNow();
      {
        at::NoGradGuard noGrad;
        if (sums.empty())
          for (auto& v : values) sums.push_back(v.detach().reshape({}).to(at::kDouble, false, true).zero_());
        for (size_t k = 0; k < values.size(); ++k) sums[k].add_(values[k].reshape({}), rows);
      }
      done.batches++;
      done.count += rows;
      done.size = rows;
      done.loss = lossValue;
      auto now = std::chrono::steady_clock::now();
      if (report && (spec.waitEachBatch || std::chrono::duration<double, std::milli>(now - last).count() >= spec.progressMs)) {
        last = now;
        if (spec.waitEachBatch) {
          // JS owns the optimizer while its onBatchEnd callbacks run (a scheduler sets the lr); resume() takes it back.
          control->BeginWait();
          opt->Unlease();
          Report(report, sums);
          control->WaitResume();
          if (control->optimizerGone)
            throw CodedError("fit: the optimizer was disposed during the epoch", "ERR_OPTIMIZER_DISPOSED");
        } else {
          Report(report, sums);
        }
      }
    }
    if (control->stop) stopped = true;
    done.sums.clear();
    for (auto& s : sums) done.sums.push_back(s.item<double>());
  }

  void Report(const std::function<void(const Progress&)>& report, const std::vector<at::Tensor>& sums) {
    Progress p = done;
    p.sums.clear();
    for (auto& s : sums) p.sums.push_back(s.item<double>());
    report(p);
  }

};

// The result object, and the error a failed epoch rejects with (TorchError with `code` and `batch`).
Napi::Object ResultOf(Napi::Env env, const EpochLoop& loop) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("batches", static_cast<double>(loop.done.batches));
  r.Set("count", static_cast<double>(loop.done.count));
  Napi::Array sums = Napi::Array::New(env, loop.done.sums.size());
  for (size_t i = 0; i < loop.done.sums.size(); ++i) sums.Set(static_cast<uint32_t>(i), loop.done.sums[i]);
  r.Set("sums", sums);
  r.Set("stopped", Napi::Boolean::New(env, loop.stopped));
  return r;
}

Napi::Value ErrorOf(Napi::Env env, const std::string& message, const char* code, const EpochLoop& loop) {
  Addon* addon = env.GetInstanceData<Addon>();
  Napi::Object err = addon->torchErrorCtor.IsEmpty() ? Napi::Error::New(env, message).Value()
                                                     : addon->torchErrorCtor.New({Napi::String::New(env, message)});
  if (code) err.Set("code", Napi::String::New(env, code));
  err.Set("batch", static_cast<double>(loop.done.batches));
  return err;
}

// Runs the loop, turning its exceptions into a message and a code (for ErrorOf); true when it completed.
bool RunCaught(EpochLoop& loop, const std::function<void(const Progress&)>& report, std::string& message, const char*& code) {
  try {
    loop.Run(report);
    return true;
  } catch (const CodedError& e) {
    code = e.code;
    message = e.what();
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    auto pos = what.find("\nException raised from");
    message = pos == std::string::npos ? what : what.substr(0, pos);
  } catch (const std::exception& e) {
    message = e.what();
  }
  return false;
}

class EpochWorker : public Napi::AsyncProgressWorker<Progress> {
 public:
  EpochWorker(Napi::Env env, EpochLoop loop, Napi::Object optObj, Napi::Function onProgress)
      : Napi::AsyncProgressWorker<Progress>(env, "torchgraft.nativeEpoch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        loop_(std::move(loop)) {
    optRef_ = Napi::Persistent(optObj);  // keeps the optimizer alive for the epoch
    onProgress_ = Napi::Persistent(onProgress);
    napi_add_env_cleanup_hook(env, &EpochWorker::OnEnvCleanup, loop_.control.get());
  }
  ~EpochWorker() override { Unhook(); }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    std::string message;
    if (!RunCaught(loop_, [&](const Progress& p) { progress.Send(&p, 1); }, message, code_)) SetError(message);
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
      loop_.control->Resume(true, nullptr);  // the JS side failed: end the epoch rather than wait for a resume that never comes
    }
  }

  void OnOK() override {
    Finish();
    deferred_.Resolve(ResultOf(Env(), loop_));
  }

  void OnError(const Napi::Error& e) override {
    Finish();
    deferred_.Reject(ErrorOf(Env(), e.Message(), code_, loop_));
  }

 private:
  static void OnEnvCleanup(void* arg) { static_cast<Control*>(arg)->Resume(true, nullptr); }
  void Unhook() {
    if (hooked_) napi_remove_env_cleanup_hook(Env(), &EpochWorker::OnEnvCleanup, loop_.control.get());
    hooked_ = false;
  }
  void Finish() {
    Unhook();
    loop_.opt->Unlease();
  }

  Napi::Promise::Deferred deferred_;
  EpochLoop loop_;
  Napi::ObjectReference optRef_;
  Napi::FunctionReference onProgress_;
  bool hooked_ = true;
  const char* code_ = nullptr;
};

Napi::Value NativeEpoch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsObject() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "nativeEpoch(spec, onProgress): expected a spec object and a function");
    Napi::Object o = info[0].As<Napi::Object>();
    OptimizerWrap* opt = OptimizerWrap::UnwrapOrNull(o.Get("optimizer"));
    if (!opt) throw Napi::TypeError::New(env, "nativeEpoch: spec.optimizer must be a native Optimizer");
    auto control = std::make_shared<Control>();
    EpochLoop loop{ReadSpec(o), opt, control};
    bool inlineRun = ToBool(o.Get("inline"), false, "inline");
    TORCH_CHECK_VALUE(!(inlineRun && loop.spec.waitEachBatch), "nativeEpoch: an inline epoch cannot wait for callbacks");
    opt->Lease();
    Napi::Object handle = Napi::Object::New(env);
    if (inlineRun) {
      // A short epoch: run here, sparing the two thread hops (about 250 us on this VM) that would cost more than it.
      std::string message;
      const char* code = nullptr;
      bool ok = RunCaught(loop, nullptr, message, code);
      opt->Unlease();
      auto deferred = Napi::Promise::Deferred::New(env);
      if (ok) deferred.Resolve(ResultOf(env, loop));
      else deferred.Reject(ErrorOf(env, message, code, loop));
      handle.Set("promise", deferred.Promise());
      handle.Set("resume", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return i.Env().Undefined(); }, "resume"));
      handle.Set("stop", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return i.Env().Undefined(); }, "stop"));
      return handle;
    }
    EpochWorker* worker;
    try {
      worker = new EpochWorker(env, std::move(loop), o.Get("optimizer").As<Napi::Object>(), info[1].As<Napi::Function>());
    } catch (...) {
      opt->Unlease();
      throw;
    }
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

// recycleCpuBlocks(hold: boolean): a fit holds the native epochs' block cache from its first epoch to its end.
Napi::Value RecycleHold(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    HoldRecycledCpuBlocks(ToBool(info[0], false, "hold"));
    return info.Env().Undefined();
  });
}

// recycledCpuBytes() -> bytes the cache holds now
Napi::Value RecycledBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(RecycledCpuBytes()));
}

}  // namespace

void RegisterNativeEpoch(Napi::Env env, Napi::Object exports) {
  exports.Set("nativeEpoch", Napi::Function::New<NativeEpoch>(env, "nativeEpoch"));
  exports.Set("recycleCpuBlocks", Napi::Function::New<RecycleHold>(env, "recycleCpuBlocks"));
  exports.Set("recycledCpuBytes", Napi::Function::New<RecycledBytes>(env, "recycledCpuBytes"));
}

}  // namespace tg
