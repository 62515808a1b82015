// The Tensor class: lifetime (scopes, dispose, finalizer), metadata getters, host copies and backward.
#include "tensor.h"
#include "guard.h"
#include "addon.h"
#include "unreported.h"
#include <cstring>
#include <stdexcept>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tg {

static void Check(napi_env env, napi_status status) {
  if (status != napi_ok) throw Napi::Error::New(env);
}

// setTensorClass(ctor, handleOf, token, pending, state): the class lib/tensor-class.ts defines, its brand check, the
// token its constructor requires, and the pending batch (an array of kPendingBatch and an Int32Array(2)).
static Napi::Value SetTensorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = env.GetInstanceData<Addon>();
  if (!info[0].IsFunction() || !info[1].IsFunction() || !info[2].IsObject() || !info[3].IsArray() || !info[4].IsTypedArray())
    throw Napi::TypeError::New(env, "setTensorClass: expected (class, handleOf, token, array, Int32Array)");
  if (!addon->tensorCtor.IsEmpty()) throw Napi::Error::New(env, "setTensorClass: the Tensor class is already set");
  Napi::TypedArray ta = info[4].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_int32_array || ta.ElementLength() < 2)
    throw Napi::TypeError::New(env, "setTensorClass: expected an Int32Array of 2 for the pending state");
  if (info[3].As<Napi::Array>().Length() < TensorTable::kPendingBatch)
    throw Napi::TypeError::New(env, "setTensorClass: the pending array is too short");
  addon->tensorCtor = Napi::Persistent(info[0].As<Napi::Function>());
  addon->handleOf = Napi::Persistent(info[1].As<Napi::Function>());
  addon->tensorToken = Napi::Persistent(info[2]);
  auto* state = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  state[0] = state[1] = 0;
  addon->tensors.stateArray = Napi::Persistent(info[4]);
  addon->tensors.SetPending(env, info[3], state);
  return env.Undefined();
}

static Napi::Value FlushPendingJs(const Napi::CallbackInfo& info) {
  info.Env().GetInstanceData<Addon>()->tensors.FlushPending(info.Env());
  return info.Env().Undefined();
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
  // A plain object holding the native methods and accessors, which lib/tensor-class.ts copies onto the Tensor class's
  // prototype (napi_define_class's methods would check that their receiver is that class's instance, and the class is
  // JavaScript's). node-addon-api's trampolines reach the slot of `this` through TensorWrap::Unwrap.
  napi_value ops;
  Check(env, napi_create_object(env, &ops));
  Check(env, napi_define_properties(env, ops, descs.size(), descs.data()));
  addon->tensors.DisposedSlot()->env_ = env;
  exports.Set("TensorOps", Napi::Value(env, ops));
  exports.Set("setTensorClass", Napi::Function::New<SetTensorClass>(env, "setTensorClass"));
  exports.Set("flushPending", Napi::Function::New<FlushPendingJs>(env, "flushPending"));
}

TensorWrap* TensorWrap::Register(Addon* addon, Napi::Env env, at::Tensor t) {
  if (addon->tensorCtor.IsEmpty())
    throw Napi::Error::New(env, "torchgraft: the Tensor class is not installed (load the package, not the addon alone)");
  TensorWrap* w = addon->tensors.Acquire(addon, env);
  w->t_ = std::move(t);
  w->LinkInto(addon->Current());
  addon->liveTensors++;
  addon->tensors.ReportStorage(env, w);
  return w;
}

Napi::Value TensorWrap::Make(Napi::Env env, at::Tensor t) {
  Addon* addon = env.GetInstanceData<Addon>();
  TensorWrap* w = Register(addon, env, std::move(t));
  napi_value ctor, args[2], obj;
  napi_status st = napi_get_reference_value(env, addon->tensorCtor, &ctor);
  if (st == napi_ok) st = napi_get_reference_value(env, addon->tensorToken, &args[0]);
  if (st == napi_ok) st = napi_create_double(env, w->Handle(), &args[1]);
  if (st == napi_ok) st = napi_new_instance(env, ctor, 2, args, &obj);
  if (st != napi_ok) {
    w->Dispose();
    Check(env, st);
  }
  if (w->scope_ == addon->Global()) {
    addon->tensors.AddPending(env, obj, w);
    addon->tensors.MaybeSweep(env);
  }
  return Napi::Value(env, obj);
}

double TensorWrap::MakeHandle(Addon* addon, Napi::Env env, at::Tensor t) {
  TensorWrap* w = Register(addon, env, std::move(t));
  if (w->scope_ != addon->Global()) return w->Handle();
  addon->tensors.AddPendingSlot(w);
  addon->tensors.MaybeSweep(env);
  return -(w->Handle() + 1);
}

double TensorWrap::Handle() const {
  return static_cast<double>((seq_ & ((1ull << 29) - 1)) * TensorTable::kMaxSlots + index_);
}

bool TensorWrap::IsWrap(Napi::Value v) { return UnwrapOrNull(v) != nullptr; }

// The slot named by an object's handle, asked of the class's brand check (which never throws: -1 for a non-tensor).
static TensorWrap* FromObject(napi_env env, napi_value v) {
  Addon* addon = Napi::Env(env).GetInstanceData<Addon>();
  if (addon->handleOf.IsEmpty()) return nullptr;
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, addon->handleOf, &fn) != napi_ok || napi_get_undefined(env, &recv) != napi_ok) return nullptr;
  if (napi_call_function(env, recv, fn, 1, &v, &result) != napi_ok) {
    // Only when the engine cannot run JavaScript (stack overflow, termination): not a tensor; leave no exception.
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return nullptr;
  }
  double h;
  if (napi_get_value_double(env, result, &h) != napi_ok) return nullptr;
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

namespace {
thread_local bool tUnreported = false;  // set while MakeUnreportedTensor wraps its tensor
}  // namespace

Napi::Value MakeUnreportedTensor(Napi::Env env, at::Tensor t) {
  tUnreported = true;
  try {
    Napi::Value v = TensorWrap::Make(env, std::move(t));
    tUnreported = false;
    return v;
  } catch (...) {
    tUnreported = false;
    throw;
  }
}

void TensorTable::ReportStorage(napi_env env, TensorWrap* w) {
  if (tUnreported) return;
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
  if (!state_ || napi_set_element(env, pending.Value(), static_cast<uint32_t>(state_[0]), obj) != napi_ok) {
    w->EnsureFinalizer(env, obj);  // no room to defer: decide now
    return;
  }
  state_[0]++;
  pendingSlots_.emplace_back(w->index_, w->seq_);
  pendingBytes_ += w->NativeBytes();
}

void TensorTable::AddPendingSlot(TensorWrap* w) {
  pendingSlots_.emplace_back(w->index_, w->seq_);
  pendingBytes_ += w->NativeBytes();
  if (pendingSlots_.size() >= kPendingBatch || pendingBytes_ >= kPendingBytes) state_[1] = 1;
}

void TensorTable::FlushPending(napi_env env) {
  if (!state_) return;
  napi_value arr = pending.Value(), undefined;
  napi_get_undefined(env, &undefined);
  uint32_t n = static_cast<uint32_t>(state_[0]);
  // Each side adds one object per slot, in order, right after making it; if an object was ever lost on the way, the
  // order no longer pairs them and each object's slot is asked of the class instead (slower, never wrong).
  bool paired = n == pendingSlots_.size();
  for (uint32_t i = 0; i < n; ++i) {
    TensorWrap* w = nullptr;
    if (paired) {
      // most were disposed already: their objects are not even read
      w = At(pendingSlots_[i].first);
      if (w->disposed_ || w->seq_ != pendingSlots_[i].second) continue;
    }
    napi_value obj;
    if (napi_get_element(env, arr, i, &obj) != napi_ok) continue;
    if (!paired) w = FromObject(env, obj);
    if (!w || w->disposed_) continue;
    w->EnsureFinalizer(env, obj);  // a no-op when it has one
    // The batch lets the object go: its finalizer now frees the tensor when GC collects it.
    napi_set_element(env, arr, i, undefined);
  }
  pendingSlots_.clear();
  pendingBytes_ = 0;
  state_[0] = 0;
  state_[1] = 0;
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
    deferred_.Reject(TorchErrorValue(Env(), message, code));
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
