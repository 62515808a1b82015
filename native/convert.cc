// Argument conversion helpers shared by every native entry point.
#include "convert.h"
#include "tensor.h"
#include "guard.h"
#include <cmath>
#include <limits>

namespace tg {

static std::string Describe(Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  if (v.IsTypedArray()) return "a TypedArray";
  return "a plain object";
}

[[noreturn]] static void TypeErr(Napi::Env env, const char* what, const char* expected, Napi::Value got) {
  throw Napi::TypeError::New(env, std::string(what) + ": expected " + expected + ", got " + Describe(got));
}

bool IsTensor(Napi::Value v) { return TensorWrap::IsWrap(v); }

const at::Tensor& ToTensor(Napi::Value v, const char* what) {
  TensorWrap* w = TensorWrap::UnwrapOrNull(v);
  if (!w) TypeErr(v.Env(), what, "a Tensor", v);
  return w->Get(what);
}

at::Tensor ToOptionalTensor(Napi::Value v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return at::Tensor();
  return ToTensor(v, what);
}

// A BigInt that does not fit in int64 would be truncated to its low 64 bits: refuse it.
static int64_t BigIntToInt64(Napi::Value v, const char* what) {
  bool lossless = true;
  int64_t i = v.As<Napi::BigInt>().Int64Value(&lossless);
  if (!lossless)
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": BigInt " + v.ToString().Utf8Value() +
                                             " does not fit in a 64-bit signed integer");
  return i;
}

at::Scalar ToScalar(Napi::Value v, const char* what) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    // As Python's int: an integral number is an integer scalar (int tensors refuse a float alpha or fill value).
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) return at::Scalar(static_cast<int64_t>(d));
    return at::Scalar(d);
  }
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) return at::Scalar(BigIntToInt64(v, what));
  TypeErr(v.Env(), what, "a number", v);
}

at::Tensor ToTensorOrScalar(Napi::Value v, const char* what) {
  // One napi_typeof instead of a chain of IsNumber/IsBoolean/IsBigInt/IsObject calls: this runs on every binary op.
  napi_valuetype type = napi_undefined;
  napi_typeof(v.Env(), v, &type);
  if (type == napi_object) {
    TensorWrap* w = TensorWrap::UnwrapOrNull(v);
    if (!w) TypeErr(v.Env(), what, "a Tensor or a number", v);
    return w->Get(what);
  }
  if (type != napi_number && type != napi_boolean && type != napi_bigint) TypeErr(v.Env(), what, "a Tensor or a number", v);
  at::Scalar s;
  if (type == napi_number) {
    double d = v.As<Napi::Number>().DoubleValue();
    // Python wraps int-valued floats as float scalars too; integral JS numbers behave like Python ints.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) s = at::Scalar(static_cast<int64_t>(d));
    else s = at::Scalar(d);
  } else {
    s = ToScalar(v, what);
  }
  at::Tensor t = c10::scalar_to_tensor(s);
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

std::vector<at::Tensor> ToTensorList(Napi::Value v, const char* what) {
  if (!v.IsArray()) TypeErr(v.Env(), what, "an array of Tensors", v);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(ToTensor(a.Get(i), what));
  return out;
}

int64_t ToInt(Napi::Value v, const char* what) {
  if (v.IsBigInt()) return BigIntToInt64(v, what);
  if (!v.IsNumber()) TypeErr(v.Env(), what, "an integer", v);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d))
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an integer, got " + std::to_string(d));
  if (std::fabs(d) > 9.007199254740992e15)
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": integer out of range");
  return static_cast<int64_t>(d);
}

std::optional<int64_t> ToOptionalInt(Napi::Value v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return ToInt(v, what);
}

double ToDouble(Napi::Value v, const char* what) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1.0 : 0.0;
  if (!v.IsNumber()) TypeErr(v.Env(), what, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}

std::optional<double> ToOptionalDouble(Napi::Value v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return ToDouble(v, what);
}

bool ToBool(Napi::Value v, bool fallback, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) TypeErr(v.Env(), what, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

std::vector<int64_t> ToIntList(Napi::Value v, const char* what) {
  if (v.IsNumber() || v.IsBigInt()) return {ToInt(v, what)};
  if (!v.IsArray()) TypeErr(v.Env(), what, "an integer or an array of integers", v);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) out[i] = ToInt(a.Get(i), what);
  return out;
}

std::string ToString(Napi::Value v, const char* what) {
  if (!v.IsString()) TypeErr(v.Env(), what, "a string", v);
  return v.As<Napi::String>().Utf8Value();
}

struct DtypeEntry {
  const char* name;
  at::ScalarType type;
};
static const DtypeEntry kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf},  {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},   {"int8", at::kChar},
    {"uint8", at::kByte},    {"bool", at::kBool},      {"float", at::kFloat},   {"double", at::kDouble},
    {"half", at::kHalf},     {"long", at::kLong},      {"int", at::kInt},
};

at::ScalarType ToDtype(Napi::Value v, const char* what) {
  if (!v.IsString()) TypeErr(v.Env(), what, "a dtype name such as 'float32'", v);
  std::string s = v.As<Napi::String>().Utf8Value();
  for (const auto& e : kDtypes)
    if (s == e.name) return e.type;
  throw Napi::TypeError::New(v.Env(), std::string(what) + ": unknown dtype '" + s +
                                          "' (use float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool)");
}

const char* DtypeName(at::ScalarType t) {
  for (const auto& e : kDtypes)
    if (e.type == t) return e.name;
  return c10::toString(t);
}

c10::Device ToDevice(Napi::Value v, const char* what) {
  if (!v.IsString()) TypeErr(v.Env(), what, "a device name such as 'cpu' or 'cuda:0'", v);
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "cpu") return c10::Device(c10::kCPU);
  if (s.rfind("cuda", 0) == 0) {
    int64_t index = -1;
    if (s.size() > 4) {
      if (s[4] != ':' || s.size() == 5 || s.find_first_not_of("0123456789", 5) != std::string::npos)
        throw Napi::TypeError::New(v.Env(), std::string(what) + ": invalid device '" + s + "' (use 'cpu', 'cuda' or 'cuda:N')");
      // c10::DeviceIndex is 8 bits: compare the digits (leading zeros dropped) before parsing, so no length overflows.
      size_t first = std::min(s.find_first_not_of('0', 5), s.size() - 1);
      std::string digits = s.substr(first);
      constexpr int kMax = std::numeric_limits<c10::DeviceIndex>::max();
      if (digits.size() > 3 || std::stoi(digits) > kMax)
        throw Napi::RangeError::New(v.Env(), std::string(what) + ": device index in '" + s + "' is out of range (0 to " +
                                                 std::to_string(kMax) + ")");
      index = std::stoi(digits);
    }
    if (!at::hasCUDA())
      ThrowTorchError(v.Env(), "CUDA is not available: this LibTorch was built without CUDA or no GPU is present (device '" + s + "')",
                      "ERR_NO_CUDA");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Napi::TypeError::New(v.Env(), std::string(what) + ": invalid device '" + s + "' (use 'cpu', 'cuda' or 'cuda:N')");
}

std::string DeviceName(const c10::Device& d) {
  if (d.is_cpu()) return "cpu";
  if (d.is_cuda()) return "cuda:" + std::to_string(d.has_index() ? d.index() : 0);
  return d.str();
}

Napi::Array ShapeToArray(Napi::Env env, at::IntArrayRef sizes) {
  Napi::Array a = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(sizes[i])));
  return a;
}

}  // namespace tg
