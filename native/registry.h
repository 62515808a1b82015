// Registration of the addon's free functions: each file of functions adds itself here.
#pragma once
#include "pch.h"

namespace tg {

void RegisterCreation(Napi::Env env, Napi::Object exports);
void RegisterFunctional(Napi::Env env, Napi::Object exports);
void RegisterOptim(Napi::Env env, Napi::Object exports);
void RegisterSafetensors(Napi::Env env, Napi::Object exports);
void RegisterStorage(Napi::Env env, Napi::Object exports);
void RegisterScriptModule(Napi::Env env, Napi::Object exports);
void RegisterRngState(Napi::Env env, Napi::Object exports);
void RegisterFast(Napi::Env env, Napi::Object exports);
void RegisterNativeEpoch(Napi::Env env, Napi::Object exports);
void RegisterDistributed(Napi::Env env, Napi::Object exports);
void RegisterDdpReducer(Napi::Env env, Napi::Object exports);
void RegisterAutocast(Napi::Env env, Napi::Object exports);
void RegisterCacheRead(Napi::Env env, Napi::Object exports);

inline void RegisterAll(Napi::Env env, Napi::Object exports) {
  RegisterCreation(env, exports);
  RegisterFunctional(env, exports);
  RegisterOptim(env, exports);
  RegisterSafetensors(env, exports);
  RegisterStorage(env, exports);
  RegisterScriptModule(env, exports);
  RegisterRngState(env, exports);
  RegisterFast(env, exports);
  RegisterNativeEpoch(env, exports);
  RegisterDistributed(env, exports);
  RegisterDdpReducer(env, exports);
  RegisterAutocast(env, exports);
  RegisterCacheRead(env, exports);
}

}  // namespace tg
