// The Tensor class: lifetime (scopes, dispose, finalizer), metadata getters, host copies and backward.
#include "tensor.h"
#include "addon.h"
#include <cstring>
#include <stdexcept>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tg {

// Set by Make() around napi_new_instance, so that `new Tensor()` from JavaScript is refused.
static thread_local bool constructing = false;

static void Check(napi_env env, napi_status status) {
  if (status != napi_ok) throw Napi::Error::New(env);
}

void TensorWrap::Init(Napi::Env env, Napi::Object exports, Addon* addon) {
  std::vector<Napi::ClassPropertyDescriptor<TensorWrap>> props = {
      InstanceAccessor<&TensorWrap::GetShape>("shape"),
      InstanceAccessor<&TensorWrap::GetDtype>("dtype"),
      InstanceAccessor<&TensorWrap::GetDevice>("device"),
      InstanceAccessor<&TensorWrap::GetNumel>("numel"),
      InstanceAccessor<&TensorWrap::GetNdim>("ndim"),
      InstanceAccessor<&TensorWrap::GetRequiresGrad, &TensorWrap::SetRequiresGrad>("requiresGrad"),
      InstanceAccessor<&TensorWrap::GetGrad, &TensorWrap::SetGrad>("grad"),
      InstanceAccessor<&TensorWrap::GetIsLeaf>("isLeaf"),
      InstanceAccessor<&TensorWrap::GetIsDisposed>("isDisposed"),
      InstanceMethod<&TensorWrap::DisposeJs>("dispose"),
      InstanceMethod<&TensorWrap::Item>("item"),
      InstanceMethod<&TensorWrap::DataSync>("_dataSync"),
      InstanceMethod<&TensorWrap::DataAsync>("_dataAsync"),
      InstanceMethod<&TensorWrap::Backward>("_backward"),
      InstanceMethod<&TensorWrap::RequiresGradInPlace>("requiresGrad_"),
  };
  AddTensorOps(props);
  std::vector<napi_property_descriptor> descs;
  descs.reserve(props.size());
  for (auto& p : props) descs.push_back(static_cast<napi_property_descriptor&>(p));
  // A plain napi class (not ObjectWrap): its constructor does no napi_wrap; node-addon-api's method trampolines
  // reach the slot through TensorWrap::Unwrap.
  napi_value ctor;
  Check(env, napi_define_class(env, "Tensor", NAPI_AUTO_LENGTH, &TensorWrap::Construct, nullptr, descs.size(), descs.data(), &ctor));
  addon->tensorCtor = Napi::Persistent(Napi::Function(env, ctor));
  addon->tensors.symbol = Napi::Persistent(Napi::Value(Napi::Symbol::New(env, "torchgraft.tensor")));
  // Preallocated so that napi_set_element stores into existing elements instead of growing the array.
  addon->tensors.pending = Napi::Persistent(Napi::Value(Napi::Array::New(env, TensorTable::kPendingBatch)));
  addon->tensors.DisposedSlot()->env_ = env;
  exports.Set("Tensor", Napi::Function(env, ctor));
}

napi_value TensorWrap::Construct(napi_env env, napi_callback_info info) {
  if (!constructing) {
    napi_throw_type_error(env, nullptr, "Tensor cannot be constructed directly: use tg.tensor(), tg.zeros() or another factory");
    return nullptr;
  }
  napi_value self;
  if (napi_get_cb_info(env, info, nullptr, nullptr, &self, nullptr) != napi_ok) return nullptr;
  return self;
}

Napi::Value TensorWrap::Make(Napi::Env env, at::Tensor t) {
  Addon* addon = env.GetInstanceData<Addon>();
  napi_value ctor, obj;
  Check(env, napi_get_reference_value(env, addon->tensorCtor, &ctor));
  constructing = true;
  napi_status st = napi_new_instance(env, ctor, 0, nullptr, &obj);
  constructing = false;
  Check(env, st);
  TensorWrap* w = addon->tensors.Acquire(addon, env);
  w->t_ = std::move(t);
  napi_value handle, key;
  st = napi_create_double(env, w->Handle(), &handle);
  if (st == napi_ok) st = napi_get_reference_value(env, addon->tensors.symbol, &key);
  if (st == napi_ok) {
    // Read-only, not enumerable, not configurable: spread/assign do not copy it and it cannot be redefined.
    napi_property_descriptor d = {nullptr, key, nullptr, nullptr, nullptr, handle, napi_default, nullptr};
    st = napi_define_properties(env, obj, 1, &d);
  }
  if (st != napi_ok) {
    w->t_ = at::Tensor();
    addon->tensors.Release(w);
    Check(env, st);
  }
  Scope* scope = addon->Current();
  w->LinkInto(scope);
  addon->liveTensors++;
  addon->tensors.ReportStorage(env, w);
  if (scope == addon->Global()) {
    addon->tensors.AddPending(env, obj, w);
    addon->tensors.MaybeSweep(env);
  }
  return Napi::Value(env, obj);
}

double TensorWrap::Handle() const {
  return static_cast<double>((seq_ & ((1ull << 29) - 1)) * TensorTable::kMaxSlots + index_);
}

bool TensorWrap::IsWrap(Napi::Value v) { return UnwrapOrNull(v) != nullptr; }

// The slot named by an object's handle property (no typeof check: callers know v is an object).
static TensorWrap* FromObject(napi_env env, napi_value v) {
  Addon* addon = Napi::Env(env).GetInstanceData<Addon>();
  napi_value key, prop;
  if (napi_get_reference_value(env, addon->tensors.symbol, &key) != napi_ok) return nullptr;
  if (napi_get_property(env, v, key, &prop) != napi_ok) {
    // A throwing Proxy trap: not a tensor; leave no exception behind.
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return nullptr;
  }
  double h;
  if (napi_get_value_double(env, prop, &h) != napi_ok) return nullptr;
  return addon->tensors.Resolve(h);
}

TensorWrap* TensorWrap::UnwrapOrNull(Napi::Value v) {
  napi_valuetype type;
  if (napi_typeof(v.Env(), v, &type) != napi_ok || type != napi_object) return nullptr;
  return FromObject(v.Env(), v);
}

TensorWrap* TensorWrap::Unwrap(Napi::Object obj) {
  // `this` of a method call: a primitive receiver has no such property, so it fails like any non-tensor.
  TensorWrap* w = FromObject(obj.Env(), obj);
  if (!w) throw Napi::TypeError::New(obj.Env(), "Tensor method called on an object that is not a Tensor");
  return w;
}

const at::Tensor& TensorWrap::Get(const char* what) const {
  if (disposed_) ThrowTorchError(Env(), std::string(what) + ": tensor was disposed", "ERR_TENSOR_DISPOSED");
  return t_;
}

size_t TensorWrap::NativeBytes() const {
  if (!t_.defined() || !t_.has_storage()) return 0;
  return t_.storage().nbytes();
}

void TensorWrap::Dispose() {
  if (disposed_) return;
  Addon* addon = addon_;
  addon->liveTensors--;
  addon->tensors.UnreportStorage(Env(), this);
  if (weak_) {
    napi_delete_reference(env_, weak_);
    weak_ = nullptr;
  }
  Unlink();
  t_ = at::Tensor();
  addon->tensors.Release(this);
}

void TensorWrap::EnsureFinalizer(napi_env env, napi_value obj) {
  if (finalizer_ || disposed_) return;
  // A weak reference is cleared by the collection itself, while the finalizer waits for the event loop: the table's
  // sweep frees collected tensors inside a synchronous loop too.
  if (!weak_ && napi_create_reference(env, obj, 0, &weak_) == napi_ok) addon_->tensors.Track(this);
  // data = slot index, hint = the slot's full reuse count: the finalizer only releases the tensor this object named.
  if (napi_add_finalizer(env, obj, reinterpret_cast<void*>(static_cast<uintptr_t>(index_)), &TensorWrap::Finalize,
                         reinterpret_cast<void*>(static_cast<uintptr_t>(seq_)), nullptr) == napi_ok)
    finalizer_ = true;
}

void TensorWrap::Finalize(napi_env env, void* data, void* hint) {
  Addon* addon = Napi::Env(env).GetInstanceData<Addon>();
  if (!addon || addon->tearingDown) return;
  uint32_t index = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
  uint64_t seq = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(hint));
  if (index >= addon->tensors.capacity()) return;
  TensorWrap* w = addon->tensors.At(index);
  if (w->disposed_ || w->seq_ != seq) return;
  addon->tensors.DisposeCollected(w);
}

void TensorWrap::LinkInto(Scope* scope) {
  Unlink();
  scope_ = scope;
  prev_ = nullptr;
  next_ = scope->head;
  if (next_) next_->prev_ = this;
  scope->head = this;
  scope->count++;
}

void TensorWrap::Unlink() {
  if (!scope_) return;
  if (prev_) prev_->next_ = next_;
  else scope_->head = next_;
  if (next_) next_->prev_ = prev_;
  scope_->count--;
  scope_ = nullptr;
  prev_ = next_ = nullptr;
}

// ---- TensorTable

void TensorTable::ReportStorage(napi_env env, TensorWrap* w) {
  size_t bytes = w->NativeBytes();
  if (bytes < 4096) return;  // small tensors are not worth a map entry
  const void* key = w->t_.storage().unsafeGetStorageImpl();
  auto& entry = reported_[key];
  if (entry.count++ == 0) {
    entry.bytes = bytes;
    reportedTotal_ += bytes;
    Napi::MemoryManagement::AdjustExternalMemory(Napi::Env(env), static_cast<int64_t>(bytes));
  }
  w->reportedStorage_ = key;
}

void TensorTable::Track(TensorWrap* w) { tracked_.emplace_back(w->index_, w->seq_); }

void TensorTable::MaybeSweep(napi_env env) {
  // A weakly held empty object tells whether V8 collected since the last look (then collected tensors may wait);
  // otherwise sweep only when the tracked count or the reported bytes doubled, so a sweep costs O(1) per tensor.
  // The probe is read once per 64 creations, so the per-op cost stays a counter increment.
  static thread_local uint32_t sinceProbe = 0;
  bool due = tracked_.size() >= sweepAtCount_ || reportedTotal_ >= sweepAtBytes_;
  if (!due && ++sinceProbe < 64) return;
  sinceProbe = 0;
  napi_value probe = nullptr;
  bool collected = !gcProbe_ || (napi_get_reference_value(env, gcProbe_, &probe) == napi_ok && probe == nullptr);
  if (!collected && !due) return;
  if (collected) {
    if (gcProbe_) napi_delete_reference(env, gcProbe_);
    gcProbe_ = nullptr;
    napi_value fresh;
    if (napi_create_object(env, &fresh) == napi_ok) napi_create_reference(env, fresh, 0, &gcProbe_);
  }
  for (size_t i = 0; i < tracked_.size();) {
    TensorWrap* w = At(tracked_[i].first);
    bool alive = !w->disposed_ && w->seq_ == tracked_[i].second && w->weak_;
    if (alive) {
      napi_value obj = nullptr;
      if (napi_get_reference_value(env, w->weak_, &obj) == napi_ok && obj == nullptr) {
        DisposeCollected(w);  // its finalizer, when the loop turns, finds the slot reused and does nothing
        alive = false;
      }
    }
    if (alive) {
      ++i;
    } else {
      tracked_[i] = tracked_.back();
      tracked_.pop_back();
    }
  }
  sweepAtCount_ = std::max<size_t>(1024, 2 * tracked_.size());
  sweepAtBytes_ = std::max<size_t>(size_t(256) << 20, 2 * reportedTotal_);
}

void TensorTable::DisposeCollected(TensorWrap* w) {
  // glibc raises its mmap threshold after big frees, so big storages come from the heap; when GC frees them in bulk the
  // heap keeps the pages (one 4 MB-tensor loop held 10 GB with 90 tensors alive). Hand free pages back per 64 MB freed.
  size_t before = reportedTotal_;
  w->Dispose();
  collectedSinceTrim_ += before - reportedTotal_;
  if (collectedSinceTrim_ < (size_t(64) << 20)) return;
  collectedSinceTrim_ = 0;
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

void TensorTable::UnreportStorage(napi_env env, TensorWrap* w) {
  if (!w->reportedStorage_) return;
  auto it = reported_.find(w->reportedStorage_);
  w->reportedStorage_ = nullptr;
  if (it == reported_.end() || --it->second.count > 0) return;
  reportedTotal_ -= it->second.bytes;
  Napi::MemoryManagement::AdjustExternalMemory(Napi::Env(env), -static_cast<int64_t>(it->second.bytes));
  reported_.erase(it);
}

TensorWrap* TensorTable::Acquire(Addon* addon, napi_env env) {
  if (freeCount_ == 0) {
    uint32_t base = static_cast<uint32_t>(capacity());
    if (base + kChunk > kMaxSlots) throw std::length_error("too many live tensors (16.7 million): dispose some");
    chunks_.emplace_back(new TensorWrap[kChunk]);
    // The ring is empty, so it restarts at 0; resize (amortized O(1) per slot) keeps growth linear overall.
    free_.resize(capacity());
    freeHead_ = 0;
    for (uint32_t i = 0; i < kChunk; ++i) {
      TensorWrap* w = &chunks_.back()[i];
      w->index_ = base + i;
      w->addon_ = addon;
      w->env_ = env;
      free_[freeCount_++] = base + i;
    }
  }
  TensorWrap* w = At(free_[freeHead_]);
  freeHead_ = (freeHead_ + 1) % free_.size();
  freeCount_--;
  w->disposed_ = false;
  return w;
}

void TensorTable::Release(TensorWrap* w) {
  w->disposed_ = true;
  w->finalizer_ = false;
  w->seq_++;
  free_[(freeHead_ + freeCount_++) % free_.size()] = w->index_;
}

TensorWrap* TensorTable::Resolve(double handle) {
  if (!(handle >= 0) || handle >= 9007199254740992.0) return nullptr;
  uint64_t u = static_cast<uint64_t>(handle);
  if (static_cast<double>(u) != handle) return nullptr;
  uint32_t index = static_cast<uint32_t>(u % kMaxSlots);
  if (index >= capacity()) return nullptr;
  TensorWrap* w = At(index);
  if (!w->disposed_ && (w->seq_ & ((1ull << 29) - 1)) == u / kMaxSlots) return w;
  return &disposed_;  // a stale handle: that tensor was disposed
}

void TensorTable::AddPending(napi_env env, napi_value obj, TensorWrap* w) {
  // The batch holds its objects strongly: big tensors are decided sooner, so it never pins more than ~64 MB.
  if (pendingSlots_.size() >= kPendingBatch || pendingBytes_ >= kPendingBytes) FlushPending(env);
  napi_value arr = pending.Value();
  if (napi_set_element(env, arr, static_cast<uint32_t>(pendingSlots_.size()), obj) != napi_ok) {
    w->EnsureFinalizer(env, obj);  // no room to defer: decide now
    return;
  }
  pendingSlots_.emplace_back(w->index_, w->seq_);
  pendingBytes_ += w->NativeBytes();
}

void TensorTable::FlushPending(napi_env env) {
  if (pendingSlots_.empty()) return;
  napi_value arr = pending.Value();
  for (size_t i = 0; i < pendingSlots_.size(); ++i) {
    TensorWrap* w = At(pendingSlots_[i].first);
    if (w->disposed_ || w->seq_ != pendingSlots_[i].second || w->finalizer_) continue;
    napi_value obj;
    if (napi_get_element(env, arr, static_cast<uint32_t>(i), &obj) == napi_ok) w->EnsureFinalizer(env, obj);
  }
  pendingSlots_.clear();
  pendingBytes_ = 0;
  // A fresh array lets the flushed objects go (one allocation per batch); preallocated so stores do not grow it.
  pending = Napi::Persistent(Napi::Value(Napi::Array::New(Napi::Env(env), kPendingBatch)));
}

Napi::Value TensorWrap::GetShape(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return ShapeToArray(info.Env(), Get("shape").sizes()); });
}

Napi::Value TensorWrap::GetDtype(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::String::New(info.Env(), DtypeName(Get("dtype").scalar_type())); });
}

Napi::Value TensorWrap::GetDevice(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::String::New(info.Env(), DeviceName(Get("device").device())); });
}

Napi::Value TensorWrap::GetNumel(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::Number::New(info.Env(), static_cast<double>(Get("numel").numel())); });
}

Napi::Value TensorWrap::GetNdim(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::Number::New(info.Env(), static_cast<double>(Get("ndim").dim())); });
}

// PyTorch's wording (torch/csrc/autograd/utils/error_messages.h).
static std::string RequiresGradLeafError(bool requiresGrad) {
  std::string m = "you can only change requires_grad flags of leaf variables.";
  if (!requiresGrad)
    m += " If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = "
         "var.detach().";
  return m;
}

Napi::Value TensorWrap::GetRequiresGrad(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::Boolean::New(info.Env(), Get("requiresGrad").requires_grad()); });
}

void TensorWrap::SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& v) {
  Guarded(info.Env(), [&] {
    bool flag = ToBool(v, false, "requiresGrad");
    Get("requiresGrad");
    // As Python's setter: a computed tensor's flag follows its graph, so any assignment is refused.
    if (!t_.is_leaf()) ThrowTorchError(info.Env(), RequiresGradLeafError(flag), "ERR_NOT_LEAF");
    t_.set_requires_grad(flag);
  });
}

Napi::Value TensorWrap::RequiresGradInPlace(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    bool flag = ToBool(info[0], true, "requiresGrad");
    Get("requiresGrad_");
    // As torch.Tensor.requires_grad_: turning it on for a computed tensor that has it is a no-op, turning it off is refused.
    if (!t_.is_leaf()) {
      if (!flag) ThrowTorchError(info.Env(), RequiresGradLeafError(flag), "ERR_NOT_LEAF");
      return info.This();
    }
    t_.set_requires_grad(flag);
    return info.This();
  });
}

Napi::Value TensorWrap::GetGrad(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& g = Get("grad").grad();
    if (!g.defined()) return info.Env().Undefined();
    return Make(info.Env(), g);
  });
}

void TensorWrap::SetGrad(const Napi::CallbackInfo& info, const Napi::Value& v) {
  Guarded(info.Env(), [&] {
    Get("grad");
    at::Tensor g = ToOptionalTensor(v, "grad");
    if (g.defined()) {
      TORCH_CHECK(g.sizes() == t_.sizes(), "grad: assigned gradient has shape ", g.sizes(), " but the tensor has shape ", t_.sizes());
      TORCH_CHECK(g.scalar_type() == t_.scalar_type(), "grad: assigned gradient has dtype ", g.scalar_type(),
                  " but the tensor has dtype ", t_.scalar_type());
      TORCH_CHECK(g.device() == t_.device(), "grad: assigned gradient is on ", g.device(), " but the tensor is on ", t_.device());
    }
    t_.mutable_grad() = g;
  });
}

Napi::Value TensorWrap::GetIsLeaf(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::Boolean::New(info.Env(), Get("isLeaf").is_leaf()); });
}

Napi::Value TensorWrap::GetIsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

Napi::Value TensorWrap::DisposeJs(const Napi::CallbackInfo& info) {
  Dispose();
  return info.Env().Undefined();
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& t = Get("item");
    TORCH_CHECK_VALUE(t.numel() == 1, "item(): a tensor with ", t.numel(), " elements cannot be converted to a number");
    at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    return Napi::Number::New(info.Env(), s.toDouble());
  });
}

// The host dtype a tensor is copied to for reading: JS has no float16/bfloat16 arrays.
static at::ScalarType HostDtype(at::ScalarType t) {
  if (t == at::kHalf || t == at::kBFloat16) return at::kFloat;
  if (t == at::kBool) return at::kByte;
  return t;
}

Napi::Value TensorWrap::DataSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& t = Get("dataSync");
    at::Tensor host = t.detach().to(at::kCPU, HostDtype(t.scalar_type())).contiguous();
    size_t n = host.nbytes();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), n);
    if (n) std::memcpy(buf.Data(), host.data_ptr(), n);
    return buf;
  });
}

// Copies a tensor into a preallocated ArrayBuffer on a worker thread; the worker holds its own handle.
class DataWorker : public Napi::AsyncWorker {
 public:
  DataWorker(Napi::Env env, at::Tensor t, Napi::ArrayBuffer buf)
      : Napi::AsyncWorker(env, "torchgraft.data"), deferred_(Napi::Promise::Deferred::New(env)), t_(std::move(t)),
        version_(t_._version()), dst_(buf.Data()), bytes_(buf.ByteLength()) {
    buf_ = Napi::Persistent(buf);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      at::Tensor host = t_.to(at::kCPU, HostDtype(t_.scalar_type())).contiguous();
      if (static_cast<size_t>(host.nbytes()) != bytes_) {
        SetError("data(): size changed while copying");
        return;
      }
      if (bytes_) std::memcpy(dst_, host.data_ptr(), bytes_);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  // Every in-place write (through the tensor or any view of it) bumps the version counter it shares with t_, and writes
  // happen on this (the JS) thread: an unchanged version here means the copy saw exactly the values at call time.
  void OnOK() override {
    if (t_._version() != version_) {
      Reject("data(): the tensor was modified in place while its values were being copied (await data() before writing "
             "to it, or read a clone)", "ERR_TENSOR_MODIFIED");
      return;
    }
    deferred_.Resolve(buf_.Value());
  }
  void OnError(const Napi::Error& e) override { Reject(e.Message(), nullptr); }

 private:
  void Reject(const std::string& message, const char* code) {
    Addon* addon = Env().GetInstanceData<Addon>();
    Napi::Object err = addon->torchErrorCtor.IsEmpty() ? Napi::Error::New(Env(), message).Value()
                                                       : addon->torchErrorCtor.New({Napi::String::New(Env(), message)});
    if (code) err.Set("code", Napi::String::New(Env(), code));
    deferred_.Reject(err);
  }

  Napi::Promise::Deferred deferred_;
  at::Tensor t_;
  uint32_t version_;
  Napi::Reference<Napi::ArrayBuffer> buf_;
  void* dst_;
  size_t bytes_;
};

Napi::Value TensorWrap::DataAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& t = Get("data");
    at::Tensor src = t.detach();
    size_t n = static_cast<size_t>(src.numel()) * c10::elementSize(HostDtype(src.scalar_type()));
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), n);
    auto* worker = new DataWorker(info.Env(), src, buf);
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  });
}

Napi::Value TensorWrap::Backward(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& t = Get("backward");
    at::Tensor grad = ToOptionalTensor(info[0], "gradient");
    bool createGraph = ToBool(info[2], false, "createGraph");
    bool retain = ToBool(info[1], createGraph, "retainGraph");
    TORCH_CHECK(t.requires_grad(), "backward(): this tensor does not require grad and has no grad_fn ",
                "(did you set requiresGrad on the inputs, or compute it under noGrad?)");
    if (!grad.defined()) {
      TORCH_CHECK(t.numel() == 1, "backward(): a gradient argument is required for a non-scalar tensor of shape ", t.sizes());
    }
    t.backward(grad, retain, createGraph);
    return info.Env().Undefined();
  });
}

}  // namespace tg
