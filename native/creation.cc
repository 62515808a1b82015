// Tensor factories: from host buffers, constant fills, ranges and random draws; plus the global RNG seed.
#include "registry.h"
#include "tensor.h"
#include "guard.h"
#include "convert.h"
#include <cmath>
#include <cstring>

namespace tg {

// Positional (dtype, device) after the size arguments; undefined means the defaults (float32, cpu).
static at::TensorOptions Options(const Napi::CallbackInfo& info, size_t at, at::ScalarType fallback = at::kFloat) {
  at::TensorOptions opts = at::TensorOptions().dtype(fallback);
  if (info.Length() > at && !info[at].IsUndefined() && !info[at].IsNull()) opts = opts.dtype(ToDtype(info[at], "dtype"));
  if (info.Length() > at + 1 && !info[at + 1].IsUndefined() && !info[at + 1].IsNull())
    opts = opts.device(ToDevice(info[at + 1], "device"));
  return opts;
}

static std::vector<int64_t> Shape(Napi::Value v) {
  std::vector<int64_t> shape = ToIntList(v, "shape");
  for (int64_t d : shape)
    if (d < 0) throw Napi::RangeError::New(v.Env(), "shape: dimensions must be non-negative, got " + std::to_string(d));
  return shape;
}

static size_t TypedArrayElementSize(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

// Floating values cast to an integer dtype must fit it (C++ casts out of range are undefined and wrap in practice): the
// rule and wording of c10's checked conversion, which torch.tensor applies (NaN and values past the range are refused).
static void CheckFitsIntegral(Napi::Env env, const at::Tensor& host, at::ScalarType target) {
  if (!at::isFloatingType(host.scalar_type()) || !at::isIntegralType(target, /*includeBool=*/false) || host.numel() == 0)
    return;
  double lo = 0, hi = 0;  // allowed: lo <= v <= hi, except int64 whose max is not a double: v < 2**63
  switch (target) {
    case at::kByte: lo = 0; hi = 255; break;
    case at::kChar: lo = -128; hi = 127; break;
    case at::kShort: lo = -32768; hi = 32767; break;
    case at::kInt: lo = -2147483648.0; hi = 2147483647.0; break;
    default: lo = -9223372036854775808.0; hi = 0; break;
  }
  at::Tensor t = host.to(at::kDouble);
  bool ok = !t.isnan().any().item<bool>() && t.min().item<double>() >= lo;
  double max = t.max().item<double>();
  ok = ok && (target == at::kLong ? max < 9223372036854775808.0 : max <= hi);
  if (!ok)
    throw Napi::RangeError::New(env, std::string("tensor(): value cannot be converted to type ") + c10::toString(target) +
                                         " without overflow");
}

// fromBuffer(typedArray, shape, srcDtype, dtype?, device?): copies the host data into a new tensor.
static Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "tensor(): expected a TypedArray of values");
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    std::vector<int64_t> shape = Shape(info[1]);
    at::ScalarType src = ToDtype(info[2], "source dtype");
    int64_t numel = 1;
    for (int64_t d : shape)
      if (__builtin_mul_overflow(numel, d, &numel))
        throw Napi::RangeError::New(env, "tensor(): shape [" + c10::Join(", ", shape) + "] has more elements than fit in 64 bits");
    if (static_cast<int64_t>(arr.ElementLength()) != numel)
      throw Napi::RangeError::New(env, "tensor(): shape [" + c10::Join(", ", shape) + "] needs " + std::to_string(numel) +
                                           " values, got " + std::to_string(arr.ElementLength()));
    size_t esize = TypedArrayElementSize(arr.TypedArrayType());
    TORCH_CHECK(static_cast<size_t>(c10::elementSize(src)) == esize, "tensor(): source dtype does not match the array");
    at::Tensor host = at::empty(shape, at::TensorOptions().dtype(src));
    const uint8_t* data = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    if (numel) std::memcpy(host.data_ptr(), data, static_cast<size_t>(numel) * esize);
    at::TensorOptions opts = Options(info, 3, src);
    CheckFitsIntegral(env, host, opts.dtype().toScalarType());
    at::Tensor out = host.to(opts.device(), opts.dtype().toScalarType());
    return TensorWrap::Make(env, out);
  });
}

static Napi::Value Empty(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return TensorWrap::Make(info.Env(), at::empty(Shape(info[0]), Options(info, 1))); });
}
static Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return TensorWrap::Make(info.Env(), at::zeros(Shape(info[0]), Options(info, 1))); });
}
static Napi::Value Ones(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return TensorWrap::Make(info.Env(), at::ones(Shape(info[0]), Options(info, 1))); });
}
// full(shape, value, dtype?, device?): without a dtype it follows the value like torch.full (bool, int64 or float32).
static Napi::Value Full(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    at::Scalar value = ToScalar(info[1], "fill value");
    at::ScalarType inferred = at::kFloat;
    if (info[1].IsBoolean()) inferred = at::kBool;
    else if (info[1].IsBigInt()) inferred = at::kLong;
    else if (info[1].IsNumber()) {
      double d = info[1].As<Napi::Number>().DoubleValue();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) inferred = at::kLong;
    }
    return TensorWrap::Make(info.Env(), at::full(Shape(info[0]), value, Options(info, 2, inferred)));
  });
}
// isTensor(v): by the addon's private handle, so objects made from Tensor.prototype do not pass.
static Napi::Value IsTensorJs(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), IsTensor(info[0])); }
static Napi::Value Rand(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return TensorWrap::Make(info.Env(), at::rand(Shape(info[0]), Options(info, 1))); });
}
static Napi::Value Randn(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return TensorWrap::Make(info.Env(), at::randn(Shape(info[0]), Options(info, 1))); });
}
// randint(low, high, shape, dtype?, device?)
static Napi::Value Randint(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    int64_t low = ToInt(info[0], "low"), high = ToInt(info[1], "high");
    if (high <= low) throw Napi::RangeError::New(info.Env(), "randint(): high must be greater than low");
    return TensorWrap::Make(info.Env(), at::randint(low, high, Shape(info[2]), Options(info, 3, at::kLong)));
  });
}
// arange(start, end, step, dtype?, device?): integer inputs give int64 like PyTorch.
static Napi::Value Arange(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    double start = ToDouble(info[0], "start"), end = ToDouble(info[1], "end"), step = ToDouble(info[2], "step");
    if (step == 0) throw Napi::RangeError::New(info.Env(), "arange(): step must not be zero");
    bool integral = start == std::floor(start) && end == std::floor(end) && step == std::floor(step);
    at::TensorOptions opts = Options(info, 3, integral ? at::kLong : at::kFloat);
    if (integral) return TensorWrap::Make(info.Env(), at::arange(static_cast<int64_t>(start), static_cast<int64_t>(end), static_cast<int64_t>(step), opts));
    return TensorWrap::Make(info.Env(), at::arange(start, end, step, opts));
  });
}
static Napi::Value Linspace(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    int64_t steps = ToInt(info[2], "steps");
    if (steps < 0) throw Napi::RangeError::New(info.Env(), "linspace(): steps must be non-negative");
    return TensorWrap::Make(info.Env(), at::linspace(ToDouble(info[0], "start"), ToDouble(info[1], "end"), steps, Options(info, 3)));
  });
}
static Napi::Value Eye(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    int64_t n = ToInt(info[0], "n");
    int64_t m = info[1].IsUndefined() || info[1].IsNull() ? n : ToInt(info[1], "m");
    if (n < 0 || m < 0) throw Napi::RangeError::New(info.Env(), "eye(): sizes must be non-negative");
    return TensorWrap::Make(info.Env(), at::eye(n, m, Options(info, 2)));
  });
}
static Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    int64_t seed = ToInt(info[0], "seed");
    at::manual_seed(static_cast<uint64_t>(seed));
    return info.Env().Undefined();
  });
}
static Napi::Value Cat(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    auto list = ToTensorList(info[0], "cat(): tensors");
    TORCH_CHECK_VALUE(!list.empty(), "cat(): expected a non-empty list of tensors");
    return TensorWrap::Make(info.Env(), at::cat(list, info[1].IsUndefined() ? 0 : ToInt(info[1], "dim")));
  });
}
static Napi::Value Stack(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    auto list = ToTensorList(info[0], "stack(): tensors");
    TORCH_CHECK_VALUE(!list.empty(), "stack(): expected a non-empty list of tensors");
    return TensorWrap::Make(info.Env(), at::stack(list, info[1].IsUndefined() ? 0 : ToInt(info[1], "dim")));
  });
}
// where(condition, x, y): x and y may be numbers.
static Napi::Value Where(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    return TensorWrap::Make(info.Env(), at::where(ToTensor(info[0], "where(): condition"), ToTensorOrScalar(info[1], "where(): x"),
                                                  ToTensorOrScalar(info[2], "where(): y")));
  });
}

void RegisterCreation(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New<FromBuffer>(env, "fromBuffer"));
  exports.Set("empty", Napi::Function::New<Empty>(env, "empty"));
  exports.Set("zeros", Napi::Function::New<Zeros>(env, "zeros"));
  exports.Set("ones", Napi::Function::New<Ones>(env, "ones"));
  exports.Set("full", Napi::Function::New<Full>(env, "full"));
  exports.Set("rand", Napi::Function::New<Rand>(env, "rand"));
  exports.Set("randn", Napi::Function::New<Randn>(env, "randn"));
  exports.Set("randint", Napi::Function::New<Randint>(env, "randint"));
  exports.Set("arange", Napi::Function::New<Arange>(env, "arange"));
  exports.Set("linspace", Napi::Function::New<Linspace>(env, "linspace"));
  exports.Set("eye", Napi::Function::New<Eye>(env, "eye"));
  exports.Set("manualSeed", Napi::Function::New<ManualSeed>(env, "manualSeed"));
  exports.Set("cat", Napi::Function::New<Cat>(env, "cat"));
  exports.Set("stack", Napi::Function::New<Stack>(env, "stack"));
  exports.Set("where", Napi::Function::New<Where>(env, "where"));
  exports.Set("isTensor", Napi::Function::New<IsTensorJs>(env, "isTensor"));
}

}  // namespace tg
