// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_ compute it (same ops, same order).
#include "optimizer.h"
#include "convert.h"
#include "guard.h"
#include "tensor.h"
#include <cmath>

namespace tg {
namespace {

std::vector<at::Tensor> DefinedGrads(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

// The p-norm over all elements: PyTorch 1.13's torch.norm(g, p) is _VF.norm over every dim; 2.x uses vector_norm.
at::Tensor NormAll(const at::Tensor& g, double p) {
#if TORCH_VERSION_MAJOR >= 2
  return at::linalg_vector_norm(g, p);
#else
  std::vector<int64_t> dims(g.dim());
  for (int64_t i = 0; i < g.dim(); ++i) dims[i] = i;
  return at::norm(g, p, dims, false);
#endif
}

// The norm of all gradients taken as one vector (grads not empty).
at::Tensor TotalNorm(const std::vector<at::Tensor>& grads, double normType) {
  c10::Device device = grads[0].device();
  std::vector<at::Tensor> norms;
  if (std::isinf(normType) && normType > 0) {
    for (auto& g : grads) norms.push_back(g.detach().abs().max().to(device));
    return norms.size() == 1 ? norms[0] : at::stack(norms).max();
  }
  for (auto& g : grads) norms.push_back(NormAll(g.detach(), normType).to(device));
  return NormAll(at::stack(norms), normType);
}

void ScaleGrads(const std::vector<at::Tensor>& grads, const at::Tensor& total, double maxNorm) {
  // max_norm / tensor is tensor.reciprocal() * max_norm in Python too.
  at::Tensor coef = total.add(1e-6).reciprocal().mul(maxNorm);
  at::Tensor clamped = coef.clamp_max(1.0);  // clamp(max=1.0) without an optional, the same across versions
  for (auto& g : grads) g.detach().mul_(clamped.to(g.device()));
}

// clipGradNorm(params, maxNorm, normType, errorIfNonfinite) -> total norm (a 0-d tensor)
Napi::Value ClipGradNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    std::vector<at::Tensor> grads = DefinedGrads(ToTensorList(info[0], "parameters"));
    double maxNorm = ToDouble(info[1], "maxNorm");
    double normType = info.Length() > 2 && !info[2].IsUndefined() ? ToDouble(info[2], "normType") : 2.0;
    bool errorIfNonfinite = ToBool(info[3], false, "errorIfNonfinite");
    at::NoGradGuard noGrad;
    if (grads.empty()) return TensorWrap::Make(env, at::zeros({}, at::kFloat));
    at::Tensor total = TotalNorm(grads, normType);
    if (errorIfNonfinite && at::logical_or(total.isnan(), total.isinf()).item<bool>())
      ThrowTorchError(env, "clipGradNorm_: the total norm of order " + std::to_string(normType) +
                               " of the gradients is non-finite, so it cannot be clipped; pass errorIfNonfinite: false to "
                               "scale them by it anyway", "ERR_NONFINITE_NORM");
    ScaleGrads(grads, total, maxNorm);
    return TensorWrap::Make(env, total);
  });
}

// clipGradValue(params, clipValue)
Napi::Value ClipGradValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    ClipGradValueOf(ToTensorList(info[0], "parameters"), ToDouble(info[1], "clipValue"));
    return env.Undefined();
  });
}

}  // namespace

at::Tensor ClipGradNormOf(const std::vector<at::Tensor>& params, double maxNorm, double normType) {
  std::vector<at::Tensor> grads = DefinedGrads(params);
  at::NoGradGuard noGrad;
  if (grads.empty()) return at::zeros({}, at::kFloat);
  at::Tensor total = TotalNorm(grads, normType);
  ScaleGrads(grads, total, maxNorm);
  return total;
}

void ClipGradValueOf(const std::vector<at::Tensor>& params, double clipValue) {
  at::NoGradGuard noGrad;
  for (auto& g : DefinedGrads(params)) g.detach().clamp_(-clipValue, clipValue);
}

void RegisterClipGrad(Napi::Env env, Napi::Object exports) {
  exports.Set("clipGradNorm", Napi::Function::New<ClipGradNorm>(env, "clipGradNorm"));
  exports.Set("clipGradValue", Napi::Function::New<ClipGradValue>(env, "clipGradValue"));
}

}  // namespace tg
