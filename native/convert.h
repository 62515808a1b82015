// Argument conversion between JavaScript values and LibTorch types; every check throws a clear TypeError/RangeError.
#pragma once
#include "pch.h"

namespace tg {

class TensorWrap;

// True when v is a live or disposed torchgraft tensor (checked by the addon's private handle, never by shape of the object).
bool IsTensor(Napi::Value v);
// The tensor held by v; throws TypeError naming the argument when v is not a tensor, Error when disposed.
const at::Tensor& ToTensor(Napi::Value v, const char* what);
// Undefined or null give an undefined tensor.
at::Tensor ToOptionalTensor(Napi::Value v, const char* what);
// A tensor or a JavaScript number/boolean (wrapped as PyTorch wraps Python scalars).
at::Tensor ToTensorOrScalar(Napi::Value v, const char* what);
at::Scalar ToScalar(Napi::Value v, const char* what);
std::vector<at::Tensor> ToTensorList(Napi::Value v, const char* what);

int64_t ToInt(Napi::Value v, const char* what);
std::optional<int64_t> ToOptionalInt(Napi::Value v, const char* what);
double ToDouble(Napi::Value v, const char* what);
std::optional<double> ToOptionalDouble(Napi::Value v, const char* what);
bool ToBool(Napi::Value v, bool fallback, const char* what);
// An integer or an array of integers.
std::vector<int64_t> ToIntList(Napi::Value v, const char* what);
std::string ToString(Napi::Value v, const char* what);

at::ScalarType ToDtype(Napi::Value v, const char* what);
const char* DtypeName(at::ScalarType t);
c10::Device ToDevice(Napi::Value v, const char* what);
std::string DeviceName(const c10::Device& d);

Napi::Array ShapeToArray(Napi::Env env, at::IntArrayRef sizes);

}  // namespace tg
