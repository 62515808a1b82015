// fit's native engine: an epoch of training steps run in C++, in chunks on a pool thread, so the JavaScript thread
// stays free. Each step is what lib/train/fit.ts does per batch, in the same order and with the same ops: gather the
// batch's rows with index_select (cast as the dataset casts), move it to the device, zero the gradients, run the traced
// step (forward, loss and metrics, recorded from the JS functions by tg.jit's tracer), backward, clip, optimizer step,
// then add the loss and metrics times the batch size into float64 sums.
//
// nativeEpoch(spec) -> { run(oneBatch: boolean, budgetMs: number) -> Promise<Progress> }
//   spec.steps       [[rows, ScriptModule], ...]: the traced step for batches of that many rows; forward(x, y) returns
//                    (loss, metric, ...) as 0-d or one-element tensors
//   spec.fields      Tensor[]: the dataset's tensors (examples are rows); spec.casts: (dtype | null)[] per field
//   spec.order       int64 Tensor [N]: the epoch's visiting order; spec.batchSize, spec.dropLast
//   spec.optimizer   the native Optimizer, leased while a chunk runs (its JS methods throw ERR_OPTIMIZER_BUSY then)
//   spec.params      Tensor[] to clip; spec.clipNorm, spec.clipNormType, spec.clipValue (0 or absent: off)
//   spec.device      string | undefined: batches are moved there
//   spec.inline      run() works on the calling (JS) thread, for epochs shorter than the hop to a pool thread and back
//   spec.fed         true: no fields, casts or order; each run(true, -1, batch, ...) trains the batches it is given, in
//                    order (several per run spare a thread hop per batch), and the epoch ends when JS says so. A batch
//                    is [x, y], or { sources, which, rows, outDtype, y }: x's rows gathered here from a disk cache's
//                    checked blocks (row i = row rows[i] of sources[which[i]], cast to outDtype), so that x is made on
//                    this thread, into recycled memory, just before the step reads it
// run() goes on from where the last chunk stopped: one batch (`oneBatch`, when onBatchEnd callbacks must see each
// one), or batches until `budgetMs` passed, or to the end. It resolves { done, batches, count, size, loss, sums }
// (batches done so far; the last batch's size and loss; the float64 sums of loss then metrics), or rejects with the
// step's error as a TorchError with `code` (ERR_NONFINITE_LOSS before the optimizer step that would spread a NaN,
// ERR_OPTIMIZER_DISPOSED) and `batch`, leaving the parameters at the last completed step. No thread ever waits for
// JavaScript, so a worker_thread terminated mid-epoch ends within one chunk.
#include "optimizer.h"
#include "epoch_allocator.h"
#include "script_module.h"
#include "addon.h"
#include "convert.h"
#include "guard.h"
#include "row_gather.h"
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

namespace tg {
namespace {

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
  bool inlineRun = false;
  bool fed = false;  // batches come one per run() instead of from fields and order
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
  s.fed = ToBool(o.Get("fed"), false, "fed");
  if (!s.fed) {
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
    s.order = s.order.contiguous();
  }
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
  Napi::Value device = o.Get("device");
  if (!device.IsUndefined() && !device.IsNull()) s.device = ToDevice(device, "device");
  s.inlineRun = ToBool(o.Get("inline"), false, "inline");
  return s;
}

// A fed batch as run() received it, checked: [x, y], or y and the gather that makes x.
struct FedInput {
  std::vector<at::Tensor> tensors;  // [x, y], or [y] with a gather
  std::optional<RowGather> gather;
  at::ScalarType outDtype = at::kFloat;
  int64_t rows = 0;
};

// An epoch in progress: where it is and what it has summed; each chunk goes on from there.
struct EpochLoop {
  Spec spec;
  OptimizerWrap* opt = nullptr;
  int64_t next = 0;  // the next batch's first position in the order
  int64_t batches = 0, count = 0, size = 0;
  double loss = 0;
  std::vector<at::Tensor> sums;  // float64, on the values' device

  std::vector<FedInput> fed;  // fed mode: the batches the next chunk trains

  int64_t End() const {
    const int64_t n = spec.order.size(0);
    return spec.dropLast ? n - n % spec.batchSize : n;
  }
  // A fed epoch is never done here: JavaScript ends it after its last batch.
  bool Done() const { return spec.fed ? false : next >= End(); }

  // Runs batches: one (oneBatch), or until budgetMs passed (a negative budget: to the end of the epoch); fed, the
  // batches it was given (after a batch that fails, the rest are dropped untrained).
  void Chunk(bool oneBatch, double budgetMs) {
    at::init_num_threads();  // a pool thread takes the intra-op thread count set with setNumThreads (OpenMP's is per thread)
    at::AutoGradMode grad(true);
    // The traced graph as recorded, op for op (the flag is per thread): no profiling runs, no autodiff subgraphs or
    // fusion, so that backward is eager autograd's, as in the JS loop.
    torch::jit::GraphOptimizerEnabledGuard asRecorded(false);
    RecycleCpuBlocks recycle;
    if (spec.fed) {
      TORCH_CHECK(!fed.empty(), "nativeEpoch (fed): no batch to train");
      std::vector<FedInput> inputs = std::move(fed);
      fed.clear();
      for (FedInput& in : inputs) {
        std::vector<at::Tensor> batch = std::move(in.tensors);
        if (in.gather) batch.insert(batch.begin(), GatherRowsAs(*in.gather, EmptyGatherOutput(*in.gather, in.outDtype), in.outDtype));
        for (auto& b : batch)
          if (spec.device && b.device() != *spec.device) b = b.to(*spec.device);
        Step(std::move(batch), in.rows);
      }
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    const int64_t end = End();
    const int64_t* order = spec.order.data_ptr<int64_t>();
    while (next < end) {
      const int64_t rows = std::min(spec.batchSize, end - next);
      at::Tensor idx = at::from_blob(const_cast<int64_t*>(order + next), {rows}, at::kLong).clone();
      std::vector<at::Tensor> batch;
      for (size_t k = 0; k < 2; ++k) {
        const at::Tensor& f = spec.fields[k];
        at::Tensor b = f.index_select(0, f.device().is_cpu() ? idx : idx.to(f.device()));
        if (spec.casts[k] && b.scalar_type() != *spec.casts[k]) b = b.to(*spec.casts[k]);
        if (spec.device && b.device() != *spec.device) b = b.to(*spec.device);
        batch.push_back(std::move(b));
      }
      Step(std::move(batch), rows);
      next += rows;
      if (oneBatch) break;
      if (budgetMs >= 0 && std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() >= budgetMs)
        break;
    }
  }

  // One training step on a batch of `rows` examples [x, y], as fit's JS loop takes it.
  void Step(std::vector<at::Tensor> batch, int64_t rows) {
    auto it = spec.steps.find(rows);
    TORCH_CHECK(it != spec.steps.end(), "nativeEpoch: no traced step for batches of ", rows, " rows");
    opt->ZeroGradNow();
    torch::jit::IValue out = it->second.forward({batch[0], batch[1]});
    std::vector<at::Tensor> values;
    if (out.isTuple())
      for (auto& v : out.toTupleRef().elements()) values.push_back(v.toTensor());
    else
      values.push_back(out.toTensor());
    const double lossValue = values[0].item<double>();
    if (!std::isfinite(lossValue))
      throw CodedError("fit (native engine): the loss is " + std::string(std::isnan(lossValue) ? "NaN" : "infinite") +
                           " at batch " + std::to_string(batches) +
                           "; the parameters are left as after the previous batch (lower the learning rate, check the "
                           "inputs for NaN, or clip gradients with clipGradNorm)",
                       "ERR_NONFINITE_LOSS");
    torch::autograd::backward({values[0]});
    if (spec.clipValue > 0) ClipGradValueOf(spec.params, spec.clipValue);
    if (spec.clipNorm > 0) ClipGradNormOf(spec.params, spec.clipNorm, spec.clipNormType);
    opt->StepNow();
    {
      at::NoGradGuard noGrad;
      if (sums.empty())
        for (auto& v : values) sums.push_back(v.detach().reshape({}).to(at::kDouble, false, true).zero_());
      for (size_t k = 0; k < values.size(); ++k) sums[k].add_(values[k].reshape({}), rows);
    }
    batches++;
    count += rows;
    size = rows;
    loss = lossValue;
  }

  std::vector<double> Sums() const {
    std::vector<double> out;
    for (auto& s : sums) out.push_back(s.item<double>());
    return out;
  }
};

// What a chunk reports (plain values: made on the pool thread, turned into JS on the JS thread).
struct Report {
  bool done = false;
  int64_t batches = 0, count = 0, size = 0;
  double loss = 0;
  std::vector<double> sums;
};

Report ReportOf(const EpochLoop& loop) {
  return {loop.Done(), loop.batches, loop.count, loop.size, loop.loss, loop.Sums()};
}

Napi::Object ToJs(Napi::Env env, const Report& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("done", Napi::Boolean::New(env, r.done));
  o.Set("batches", static_cast<double>(r.batches));
  o.Set("count", static_cast<double>(r.count));
  o.Set("size", static_cast<double>(r.size));
  o.Set("loss", r.loss);
  Napi::Array sums = Napi::Array::New(env, r.sums.size());
  for (size_t i = 0; i < r.sums.size(); ++i) sums.Set(static_cast<uint32_t>(i), r.sums[i]);
  o.Set("sums", sums);
  return o;
}

Napi::Value ErrorOf(Napi::Env env, const std::string& message, const char* code, int64_t batch) {
  Addon* addon = env.GetInstanceData<Addon>();
  Napi::Object err = addon->torchErrorCtor.IsEmpty() ? Napi::Error::New(env, message).Value()
                                                     : addon->torchErrorCtor.New({Napi::String::New(env, message)});
  if (code) err.Set("code", Napi::String::New(env, code));
  err.Set("batch", static_cast<double>(batch));
  return err;
}

// Runs a chunk, turning its exceptions into a message and a code; true when it completed.
bool ChunkCaught(EpochLoop& loop, bool oneBatch, double budgetMs, Report& report, std::string& message, const char*& code) {
  try {
    loop.Chunk(oneBatch, budgetMs);
    report = ReportOf(loop);
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

class ChunkWorker : public Napi::AsyncWorker {
 public:
  ChunkWorker(Napi::Env env, std::shared_ptr<EpochLoop> loop, Napi::Object optObj, bool oneBatch, double budgetMs)
      : Napi::AsyncWorker(env, "torchgraft.nativeEpoch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        loop_(std::move(loop)),
        oneBatch_(oneBatch),
        budgetMs_(budgetMs) {
    optRef_ = Napi::Persistent(optObj);  // keeps the optimizer alive while the chunk runs
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::string message;
    if (!ChunkCaught(*loop_, oneBatch_, budgetMs_, report_, message, code_)) SetError(message);
  }
  void OnOK() override {
    loop_->opt->Unlease();
    deferred_.Resolve(ToJs(Env(), report_));
  }
  void OnError(const Napi::Error& e) override {
    loop_->opt->Unlease();
    deferred_.Reject(ErrorOf(Env(), e.Message(), code_, loop_->batches));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<EpochLoop> loop_;
  Napi::ObjectReference optRef_;
  bool oneBatch_;
  double budgetMs_;
  Report report_;
  const char* code_ = nullptr;
};

// Batches one fed run() may take: a chunk holds their blocks until it ends.
constexpr size_t kMostFedBatches = 64;

FedInput ReadFedBatch(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "nativeEpoch (fed): run() needs the batch [x, y] or a gather");
  FedInput in;
  int64_t xRows = 0;
  if (v.IsArray()) {
    in.tensors = ToTensorList(v, "batch");
    if (in.tensors.size() != 2) throw Napi::TypeError::New(env, "nativeEpoch (fed): a batch is [x, y], got " + std::to_string(in.tensors.size()) + " tensors");
    xRows = in.tensors[0].dim() < 1 ? -1 : in.tensors[0].size(0);
  } else {
    Napi::Object o = v.As<Napi::Object>();
    RowGather g;
    g.sources = ToTensorList(o.Get("sources"), "sources");
    auto int32s = [&](const char* key) {
      Napi::Value a = o.Get(key);
      if (!a.IsTypedArray() || a.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, std::string("nativeEpoch (fed): a gather's ") + key + " must be an Int32Array");
      Napi::Int32Array ints = a.As<Napi::Int32Array>();
      return std::vector<int32_t>(ints.Data(), ints.Data() + ints.ElementLength());
    };
    g.which = int32s("which");
    std::vector<int32_t> rows32 = int32s("rows");
    g.rows.assign(rows32.begin(), rows32.end());
    if (g.sources.empty()) throw Napi::RangeError::New(env, "nativeEpoch (fed): a gather needs at least one source");
    g.from = g.sources[0].scalar_type();
    g.rowShape.assign(g.sources[0].sizes().begin() + 1, g.sources[0].sizes().end());
    for (auto& t : g.sources)
      if (t.scalar_type() != g.from) throw Napi::TypeError::New(env, "nativeEpoch (fed): a gather's sources must share one dtype");
    std::string bad = CheckRowGather(g);
    if (!bad.empty()) throw Napi::RangeError::New(env, "nativeEpoch (fed): " + bad);
    in.outDtype = ToDtype(o.Get("outDtype"), "outDtype");
    in.tensors = {ToTensor(o.Get("y"), "y")};
    xRows = static_cast<int64_t>(g.rows.size());
    in.gather = std::move(g);
  }
  const at::Tensor& y = in.tensors.back();
  if (xRows < 1 || y.dim() < 1 || y.size(0) != xRows)
    throw Napi::RangeError::New(env, "nativeEpoch (fed): x and y must have the same number (>= 1) of rows");
  in.rows = xRows;
  return in;
}

// run(oneBatch, budgetMs[, batch]) of one epoch's handle.
Napi::Value RunChunk(const Napi::CallbackInfo& info, const std::shared_ptr<EpochLoop>& loop, Napi::ObjectReference& optRef) {
  Napi::Env env = info.Env();
  bool oneBatch = ToBool(info[0], false, "oneBatch");
  double budgetMs = info[1].IsUndefined() ? -1 : ToDouble(info[1], "budgetMs");
  std::vector<FedInput> inputs;
  if (loop->spec.fed) {
    if (info.Length() > 2 + kMostFedBatches)
      throw Napi::RangeError::New(env, "nativeEpoch (fed): run() takes at most " + std::to_string(kMostFedBatches) + " batches");
    // at least one: a missing first batch is refused by ReadFedBatch (info[k] past the end is undefined)
    for (size_t k = 2; k < std::max<size_t>(3, info.Length()); ++k) inputs.push_back(ReadFedBatch(env, info[k]));
  } else if (info.Length() >= 3 && !info[2].IsUndefined()) throw Napi::TypeError::New(env, "nativeEpoch: run() takes a batch only in fed mode");
  auto deferred = Napi::Promise::Deferred::New(env);
  if (loop->Done()) {
    deferred.Resolve(ToJs(env, ReportOf(*loop)));
    return deferred.Promise();
  }
  // JS had the optimizer between chunks (onBatchEnd callbacks may set its lr, or dispose it)
  try {
    loop->opt->Lease();
  } catch (const CodedError& e) {
    deferred.Reject(ErrorOf(env, e.what(), e.code, loop->batches));
    return deferred.Promise();
  } catch (const std::exception&) {
    deferred.Reject(ErrorOf(env, "fit: the optimizer was disposed during the epoch", "ERR_OPTIMIZER_DISPOSED", loop->batches));
    return deferred.Promise();
  }
  if (!inputs.empty()) loop->fed = std::move(inputs);  // stored only once leased: a chunk still running holds the lease and reads it
  if (loop->spec.inlineRun) {
    // A short epoch: run here, sparing the two thread hops (about 250 us on this VM) that would cost more than it.
    Report report;
    std::string message;
    const char* code = nullptr;
    bool ok = ChunkCaught(*loop, oneBatch, budgetMs, report, message, code);
    loop->opt->Unlease();
    if (ok) deferred.Resolve(ToJs(env, report));
    else deferred.Reject(ErrorOf(env, message, code, loop->batches));
    return deferred.Promise();
  }
  auto* worker = new ChunkWorker(env, loop, optRef.Value(), oneBatch, budgetMs);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

struct Handle {
  std::shared_ptr<EpochLoop> loop;
  Napi::ObjectReference optRef;
};

Napi::Value NativeEpoch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "nativeEpoch(spec): expected a spec object");
    Napi::Object o = info[0].As<Napi::Object>();
    OptimizerWrap* opt = OptimizerWrap::UnwrapOrNull(o.Get("optimizer"));
    if (!opt) throw Napi::TypeError::New(env, "nativeEpoch: spec.optimizer must be a native Optimizer");
    auto handle = std::make_shared<Handle>();
    handle->loop = std::make_shared<EpochLoop>();
    handle->loop->spec = ReadSpec(o);
    handle->loop->opt = opt;
    handle->optRef = Napi::Persistent(o.Get("optimizer").As<Napi::Object>());
    Napi::Object out = Napi::Object::New(env);
    out.Set("run", Napi::Function::New(env, [handle](const Napi::CallbackInfo& i) -> Napi::Value {
              return Guarded(i.Env(), [&] { return RunChunk(i, handle->loop, handle->optRef); });
            }, "run"));
    return out;
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
