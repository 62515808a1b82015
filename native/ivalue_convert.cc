// JS values to TorchScript IValues (guided by the declared argument type) and results back to JS values.
#include "ivalue_convert.h"
#include "convert.h"
#include "tensor.h"
#include <cmath>

namespace tg {
namespace {

using c10::TypeKind;

std::string Describe(Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (IsTensor(v)) return "a Tensor";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

[[noreturn]] void Mismatch(Napi::Value v, const c10::TypePtr& type, const std::string& what) {
  throw Napi::TypeError::New(v.Env(), what + ": expected a value of TorchScript type '" + type->annotation_str() + "', got " + Describe(v));
}

bool IsIntegral(double d) { return std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9.007199254740992e15; }

bool IsMap(Napi::Value v) {
  if (!v.IsObject()) return false;
  Napi::Value mapCtor = v.Env().Global().Get("Map");
  return mapCtor.IsFunction() && v.As<Napi::Object>().InstanceOf(mapCtor.As<Napi::Function>());
}

// [key, value] pairs of a plain object or a Map.
std::vector<std::pair<Napi::Value, Napi::Value>> Entries(Napi::Value v) {
  std::vector<std::pair<Napi::Value, Napi::Value>> out;
  if (IsMap(v)) {
    Napi::Object map = v.As<Napi::Object>();
    Napi::Function arrayFrom = v.Env().Global().Get("Array").As<Napi::Object>().Get("from").As<Napi::Function>();
    Napi::Array pairs = arrayFrom.Call({map}).As<Napi::Array>();
    for (uint32_t i = 0; i < pairs.Length(); ++i) {
      Napi::Array kv = pairs.Get(i).As<Napi::Array>();
      out.emplace_back(kv.Get(uint32_t{0}), kv.Get(uint32_t{1}));
    }
    return out;
  }
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) out.emplace_back(keys.Get(i), o.Get(keys.Get(i)));
  return out;
}

// The TorchScript type a JS value would have when nothing declares one.
c10::TypePtr InferType(Napi::Value v) {
  if (IsTensor(v)) return c10::TensorType::get();
  if (v.IsBoolean()) return c10::BoolType::get();
  if (v.IsNumber()) return IsIntegral(v.As<Napi::Number>().DoubleValue()) ? c10::TypePtr(c10::IntType::get()) : c10::TypePtr(c10::FloatType::get());
  if (v.IsString()) return c10::StringType::get();
  if (v.IsNull() || v.IsUndefined()) return c10::NoneType::get();
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    bool allTensors = a.Length() > 0;
    std::vector<c10::TypePtr> elems;
    for (uint32_t i = 0; i < a.Length(); ++i) {
      elems.push_back(InferType(a.Get(i)));
      allTensors = allTensors && elems.back()->kind() == TypeKind::TensorType;
    }
    if (allTensors) return c10::ListType::ofTensors();
    return c10::TupleType::create(std::move(elems));
  }
  if (v.IsObject() && !v.IsFunction()) {
    bool allTensors = true;
    for (auto& kv : Entries(v)) allTensors = allTensors && IsTensor(kv.second);
    return c10::DictType::create(c10::StringType::get(), allTensors ? c10::TypePtr(c10::TensorType::get()) : c10::TypePtr(c10::AnyType::get()));
  }
  throw Napi::TypeError::New(v.Env(), "cannot pass " + Describe(v) + " to TorchScript");
}

}  // namespace

c10::IValue ToIValue(Napi::Value v, const c10::TypePtr& type, const std::string& what) {
  switch (type->kind()) {
    case TypeKind::TensorType: {
      if (!IsTensor(v)) Mismatch(v, type, what);
      return c10::IValue(ToTensor(v, what.c_str()));
    }
    case TypeKind::FloatType:
      if (!v.IsNumber()) Mismatch(v, type, what);
      return c10::IValue(v.As<Napi::Number>().DoubleValue());
    case TypeKind::IntType: {
      if (!v.IsNumber() || !IsIntegral(v.As<Napi::Number>().DoubleValue())) Mismatch(v, type, what);
      return c10::IValue(static_cast<int64_t>(v.As<Napi::Number>().DoubleValue()));
    }
    case TypeKind::NumberType: {
      if (!v.IsNumber()) Mismatch(v, type, what);
      double d = v.As<Napi::Number>().DoubleValue();
      return IsIntegral(d) ? c10::IValue(static_cast<int64_t>(d)) : c10::IValue(d);
    }
    case TypeKind::BoolType:
      if (!v.IsBoolean()) Mismatch(v, type, what);
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case TypeKind::StringType:
      if (!v.IsString()) Mismatch(v, type, what);
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case TypeKind::DeviceObjType:
      if (!v.IsString()) Mismatch(v, type, what);
      return c10::IValue(ToDevice(v, what.c_str()));
    case TypeKind::NoneType:
      if (!v.IsNull() && !v.IsUndefined()) Mismatch(v, type, what);
      return c10::IValue();
    case TypeKind::OptionalType: {
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return ToIValue(v, type->cast<c10::OptionalType>()->getElementType(), what);
    }
    case TypeKind::ListType: {
      if (!v.IsArray()) Mismatch(v, type, what);
      c10::TypePtr elem = type->cast<c10::ListType>()->getElementType();
      Napi::Array a = v.As<Napi::Array>();
      c10::impl::GenericList list(elem);
      list.reserve(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) list.push_back(ToIValue(a.Get(i), elem, what + "[" + std::to_string(i) + "]"));
      return c10::IValue(std::move(list));
    }
    case TypeKind::TupleType: {
      if (!v.IsArray()) Mismatch(v, type, what);
      auto tuple = type->cast<c10::TupleType>();
      Napi::Array a = v.As<Napi::Array>();
      if (a.Length() != tuple->elements().size())
        throw Napi::TypeError::New(v.Env(), what + ": expected a tuple of " + std::to_string(tuple->elements().size()) + " values (" +
                                                type->annotation_str() + "), got an array of " + std::to_string(a.Length()));
      std::vector<c10::IValue> elems;
      for (uint32_t i = 0; i < a.Length(); ++i) elems.push_back(ToIValue(a.Get(i), tuple->elements()[i], what + "[" + std::to_string(i) + "]"));
      return c10::IValue(c10::ivalue::Tuple::create(std::move(elems)));
    }
    case TypeKind::DictType: {
      if (!v.IsObject() || v.IsArray() || IsTensor(v)) Mismatch(v, type, what);
      auto dictType = type->cast<c10::DictType>();
      c10::TypePtr keyType = dictType->getKeyType(), valueType = dictType->getValueType();
      c10::impl::GenericDict dict(keyType, valueType);
      for (auto& kv : Entries(v)) {
        Napi::Value key = kv.first;
        // Plain objects have string keys; an int-keyed dict takes numeric strings too.
        if (keyType->kind() == TypeKind::IntType && key.IsString()) {
          std::string s = key.As<Napi::String>().Utf8Value();
          char* end = nullptr;
          long long n = std::strtoll(s.c_str(), &end, 10);
          if (s.empty() || *end) throw Napi::TypeError::New(v.Env(), what + ": key '" + s + "' is not an integer (" + type->annotation_str() + ")");
          key = Napi::Number::New(v.Env(), static_cast<double>(n));
        }
        std::string label = what + "[" + (key.IsString() ? key.As<Napi::String>().Utf8Value() : std::string("key")) + "]";
        dict.insert(ToIValue(key, keyType, label), ToIValue(kv.second, valueType, label));
      }
      return c10::IValue(std::move(dict));
    }
    default:
      // Any, unions and types without a JS counterpart: infer from the value and let the schema check decide.
      if (type->kind() == TypeKind::AnyType || type->kind() == TypeKind::UnionType) return ToIValue(v, InferType(v), what);
      throw Napi::TypeError::New(v.Env(), what + ": torchgraft cannot pass a value of TorchScript type '" + type->annotation_str() + "'");
  }
}

Napi::Value FromIValue(Napi::Env env, const c10::IValue& v, const std::string& what) {
  if (v.isNone()) return env.Null();
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    return t.defined() ? TensorWrap::Make(env, t) : env.Null();
  }
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isDevice()) return Napi::String::New(env, DeviceName(v.toDevice()));
  if (v.isList()) {
    c10::ArrayRef<c10::IValue> items = v.toListRef();
    Napi::Array a = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); ++i) a.Set(static_cast<uint32_t>(i), FromIValue(env, items[i], what));
    return a;
  }
  if (v.isTuple()) {
    const auto& items = v.toTuple()->elements();
    Napi::Array a = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); ++i) a.Set(static_cast<uint32_t>(i), FromIValue(env, items[i], what));
    return a;
  }
  if (v.isGenericDict()) {
    c10::impl::GenericDict dict = v.toGenericDict();
    if (dict.keyType()->kind() == TypeKind::StringType) {
      Napi::Object o = Napi::Object::New(env);
      // defineProperty semantics: a key such as "__proto__" stays an own property.
      for (const auto& e : dict)
        o.DefineProperty(Napi::PropertyDescriptor::Value(Napi::String::New(env, e.key().toStringRef()), FromIValue(env, e.value(), what),
                                                         napi_default_jsproperty));
      return o;
    }
    Napi::Object map = env.Global().Get("Map").As<Napi::Function>().New({});
    Napi::Function set = map.Get("set").As<Napi::Function>();
    for (const auto& e : dict) set.Call(map, {FromIValue(env, e.key(), what), FromIValue(env, e.value(), what)});
    return map;
  }
  throw Napi::TypeError::New(env, what + ": returned a value of TorchScript type '" + v.type()->annotation_str() +
                                      "', which torchgraft does not convert to JavaScript");
}

}  // namespace tg
