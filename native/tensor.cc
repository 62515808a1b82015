// The Tensor class: lifetime (scopes, dispose, finalizer), metadata getters, host copies and backward.
#include "tensor.h"
#include "addon.h"
#include <cstring>

namespace tg {

static const napi_type_tag kTensorTag = {0x7467726166745445ULL, 0x6e736f7231333131ULL};

// A tensor handed from Make() to the constructor: Make() runs on the JS thread, one at a time per env.
static thread_local at::Tensor* pendingTensor = nullptr;

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
  Napi::Function ctor = DefineClass(env, "Tensor", props);
  addon->tensorCtor = Napi::Persistent(ctor);
  exports.Set("Tensor", ctor);
}

Napi::Value TensorWrap::Make(Napi::Env env, at::Tensor t) {
  Addon* addon = env.GetInstanceData<Addon>();
  pendingTensor = &t;
  Napi::Object obj;
  try {
    obj = addon->tensorCtor.New({});
  } catch (...) {
    pendingTensor = nullptr;
    throw;
  }
  pendingTensor = nullptr;
  return obj;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  if (!pendingTensor)
    throw Napi::TypeError::New(info.Env(), "Tensor cannot be constructed directly: use tg.tensor(), tg.zeros() or another factory");
  t_ = std::move(*pendingTensor);
  pendingTensor = nullptr;
  napi_type_tag_object(info.Env(), info.This(), &kTensorTag);
  Addon* addon = info.Env().GetInstanceData<Addon>();
  LinkInto(addon->Current());
  addon->liveTensors++;
  reportedBytes_ = NativeBytes();
  if (reportedBytes_ >= 4096) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), static_cast<int64_t>(reportedBytes_));
}

TensorWrap::~TensorWrap() {
  if (!disposed_) {
    Addon* addon = scope_ ? Env().GetInstanceData<Addon>() : nullptr;
    if (addon && !addon->tearingDown) {
      addon->liveTensors--;
      if (reportedBytes_ >= 4096) Napi::MemoryManagement::AdjustExternalMemory(Env(), -static_cast<int64_t>(reportedBytes_));
    }
    Unlink();
    disposed_ = true;
  }
}

bool TensorWrap::IsWrap(Napi::Value v) {
  if (!v.IsObject()) return false;
  bool result = false;
  napi_check_object_type_tag(v.Env(), v, &kTensorTag, &result);
  return result;
}

TensorWrap* TensorWrap::UnwrapOrNull(Napi::Value v) {
  if (!IsWrap(v)) return nullptr;
  return Unwrap(v.As<Napi::Object>());
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
  disposed_ = true;
  Addon* addon = Env().GetInstanceData<Addon>();
  if (addon) addon->liveTensors--;
  if (reportedBytes_ >= 4096) Napi::MemoryManagement::AdjustExternalMemory(Env(), -static_cast<int64_t>(reportedBytes_));
  reportedBytes_ = 0;
  Unlink();
  t_ = at::Tensor();
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

Napi::Value TensorWrap::GetRequiresGrad(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return Napi::Boolean::New(info.Env(), Get("requiresGrad").requires_grad()); });
}

void TensorWrap::SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& v) {
  Guarded(info.Env(), [&] {
    bool flag = ToBool(v, false, "requiresGrad");
    Get("requiresGrad");
    t_.set_requires_grad(flag);
  });
}

Napi::Value TensorWrap::RequiresGradInPlace(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    bool flag = ToBool(info[0], true, "requiresGrad");
    Get("requiresGrad_");
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
        dst_(buf.Data()), bytes_(buf.ByteLength()) {
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
  void OnOK() override { deferred_.Resolve(buf_.Value()); }
  void OnError(const Napi::Error& e) override {
    Addon* addon = Env().GetInstanceData<Addon>();
    Napi::Value err = addon->torchErrorCtor.IsEmpty() ? e.Value()
                                                      : addon->torchErrorCtor.New({Napi::String::New(Env(), e.Message())});
    deferred_.Reject(err);
  }

 private:
  Napi::Promise::Deferred deferred_;
  at::Tensor t_;
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
