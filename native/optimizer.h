// The Optimizer class: one of LibTorch's optimizers (SGD, Adagrad, RMSprop, Adam, AdamW) with its parameter
// groups and per-parameter state, plus the gradient-clipping free functions.
//
// JS API (every method synchronous; every one throws TypeError for a wrong argument type or an unknown option
// name, RangeError for a group or parameter index out of range, TorchError for what LibTorch refuses and after
// dispose()):
//   new Optimizer(kind, groups, defaults)
//       kind: 'sgd' | 'adagrad' | 'rmsprop' | 'adam' | 'adamw'
//       groups: [{ params: Tensor[], options: {...} }]: each group's options, complete or partial (missing
//               ones come from defaults); options use camelCase: lr, momentum, dampening, weightDecay,
//               nesterov, lrDecay, initialAccumulatorValue, eps, alpha, centered, betas: [b1, b2], amsgrad.
//       Throws TorchError when a tensor is not a leaf or appears twice.
//   step()                    one update of every parameter that has a gradient, under NoGradGuard. A parameter
//                             whose grad is undefined is skipped entirely (no weight decay, no momentum move, its
//                             state untouched); so is one that no longer requires grad (a stale grad is ignored).
//   zeroGrad()                sets every parameter's grad to undefined (PyTorch's set_to_none=True).
//   addParamGroup(params, options)   appends a group (options as in the constructor).
//   groupCount                getter: number of groups.
//   getGroupOptions(g) -> {...}      group g's options (camelCase).
//   setGroupOptions(g, {...})        sets the given options of group g (the values are validated in TypeScript).
//   getState(g, i) -> {...} | undefined   copies of parameter i of group g's state, keyed as PyTorch's
//                             state_dict: step (number), momentum_buffer, sum, square_avg, grad_avg, exp_avg,
//                             exp_avg_sq, max_exp_avg_sq (tensors, detached clones).
//   setState(g, i, state | undefined)     replaces that state (tensors are copied to the parameter's device and
//                             dtype; a missing required entry, an unknown entry or a shape other than the
//                             parameter's throws TorchError naming it); undefined clears it.
//   dispose()                 frees the optimizer and its state now (idempotent).
// Free functions (registered by RegisterOptim):
//   clipGradNorm(params: Tensor[], maxNorm, normType, errorIfNonfinite) -> Tensor   torch.nn.utils.clip_grad_norm_
//   clipGradValue(params: Tensor[], clipValue) -> undefined                         torch.nn.utils.clip_grad_value_
#pragma once
#include "pch.h"
#include <torch/optim/optimizer.h>
#include <atomic>

namespace tg {

enum class OptimKind { SGD, Adagrad, RMSprop, Adam, AdamW };

class OptimizerWrap : public Napi::ObjectWrap<OptimizerWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit OptimizerWrap(const Napi::CallbackInfo& info);
  static OptimizerWrap* UnwrapOrNull(Napi::Value v);

  // What step() and zeroGrad() do, callable from a native training thread while the optimizer is leased.
  void StepNow();
  void ZeroGradNow();
  // A native fit takes the optimizer while a chunk of its epoch runs: until Unlease, every JS method throws
  // ERR_OPTIMIZER_BUSY (so neither thread steps, reshapes or frees it under the other). Throws a c10::Error when
  // disposed, a CodedError (ERR_OPTIMIZER_BUSY) when already leased.
  void Lease();
  void Unlease() { leased_ = false; }
  // The parameters of every group, in order.
  std::vector<at::Tensor> AllParams();

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value AddParamGroup(const Napi::CallbackInfo& info);
  Napi::Value GetGroupCount(const Napi::CallbackInfo& info);
  Napi::Value GetGroupOptions(const Napi::CallbackInfo& info);
  Napi::Value SetGroupOptions(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value SetState(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // The optimizer; throws TorchError after dispose().
  torch::optim::Optimizer& Opt();
  torch::optim::OptimizerParamGroup& Group(Napi::Value index);
  const at::Tensor& Param(torch::optim::OptimizerParamGroup& group, Napi::Value index);
  // Fills state buffers a later option change needs (amsgrad, RMSprop momentum/centered, Adagrad's sums).
  void EnsureState();
  void CheckNoDuplicates(const std::vector<at::Tensor>& params);

  OptimKind kind_ = OptimKind::SGD;
  std::unique_ptr<torch::optim::Optimizer> opt_;
  std::atomic<bool> leased_{false};
};

// Options of one kind from a JS object: every key present is applied, an unknown key throws TypeError.
void ApplyOptimOptions(OptimKind kind, torch::optim::OptimizerOptions& options, Napi::Object values);
Napi::Object OptimOptionsToJs(Napi::Env env, OptimKind kind, const torch::optim::OptimizerOptions& options);
std::unique_ptr<torch::optim::OptimizerOptions> NewOptimOptions(OptimKind kind);

// Per-parameter state of one kind to and from JS (see the header comment for the entry names).
Napi::Value OptimStateToJs(Napi::Env env, OptimKind kind, const torch::optim::OptimizerParamState& state);
std::unique_ptr<torch::optim::OptimizerParamState> OptimStateFromJs(OptimKind kind, Napi::Object values,
                                                                   const at::Tensor& param);

void RegisterClipGrad(Napi::Env env, Napi::Object exports);
// clip_grad_norm_ / clip_grad_value_ over the defined gradients of `params` (no JS involved): the norm as a 0-d tensor.
at::Tensor ClipGradNormOf(const std::vector<at::Tensor>& params, double maxNorm, double normType);
void ClipGradValueOf(const std::vector<at::Tensor>& params, double clipValue);

}  // namespace tg
