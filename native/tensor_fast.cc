// The handle table's members (getters and methods of `this` by handle) and its registration as exports.fast.
#include "tensor_fast.h"
#include "registry.h"

namespace tg {

void FastOps::AddMembers(Napi::Env env, Napi::Object fast, Addon* addon) {
  Napi::Object m = Napi::Object::New(env);
#define TG_FAST_MEMBER(js, fn) m.Set(js, Napi::Function::New<&FastOps::Member<&TensorWrap::fn>>(env, js, addon));
  TG_FAST_MEMBER("shape", GetShape) TG_FAST_MEMBER("dtype", GetDtype) TG_FAST_MEMBER("device", GetDevice)
  TG_FAST_MEMBER("numel", GetNumel) TG_FAST_MEMBER("ndim", GetNdim) TG_FAST_MEMBER("requiresGrad", GetRequiresGrad)
  TG_FAST_MEMBER("isLeaf", GetIsLeaf) TG_FAST_MEMBER("isDisposed", GetIsDisposed) TG_FAST_MEMBER("dispose", DisposeJs)
  TG_FAST_MEMBER("item", Item)
  fast.Set("members", m);
}

void RegisterFast(Napi::Env env, Napi::Object exports) {
  Napi::Object fast = Napi::Object::New(env);
  Addon* addon = env.GetInstanceData<Addon>();
  AddFastTensorOps(env, fast, addon);
  FastOps::AddMembers(env, fast, addon);
  exports.Set("fast", fast);
}

}  // namespace tg
