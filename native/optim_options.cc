// Options and per-parameter state of LibTorch's optimizers, converted to and from JavaScript objects.
#include "optimizer.h"
#include "convert.h"
#include "tensor.h"
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

namespace tg {
namespace {

using namespace torch::optim;

std::tuple<double, double> ToBetas(Napi::Value v) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 2)
    throw Napi::TypeError::New(v.Env(), "betas: expected an array of two numbers");
  Napi::Array a = v.As<Napi::Array>();
  return {ToDouble(a.Get(0u), "betas[0]"), ToDouble(a.Get(1u), "betas[1]")};
}

Napi::Array BetasToJs(Napi::Env env, const std::tuple<double, double>& b) {
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, std::get<0>(b)));
  a.Set(1u, Napi::Number::New(env, std::get<1>(b)));
  return a;
}

bool SetSgd(SGDOptions& o, const std::string& k, Napi::Value v) {
  if (k == "lr") o.lr(ToDouble(v, "lr"));
  else if (k == "momentum") o.momentum(ToDouble(v, "momentum"));
  else if (k == "dampening") o.dampening(ToDouble(v, "dampening"));
  else if (k == "weightDecay") o.weight_decay(ToDouble(v, "weightDecay"));
  else if (k == "nesterov") o.nesterov(ToBool(v, false, "nesterov"));
  else return false;
  return true;
}

bool SetAdagrad(AdagradOptions& o, const std::string& k, Napi::Value v) {
  if (k == "lr") o.lr(ToDouble(v, "lr"));
  else if (k == "lrDecay") o.lr_decay(ToDouble(v, "lrDecay"));
  else if (k == "weightDecay") o.weight_decay(ToDouble(v, "weightDecay"));
  else if (k == "initialAccumulatorValue") o.initial_accumulator_value(ToDouble(v, "initialAccumulatorValue"));
  else if (k == "eps") o.eps(ToDouble(v, "eps"));
  else return false;
  return true;
}

bool SetRmsprop(RMSpropOptions& o, const std::string& k, Napi::Value v) {
  if (k == "lr") o.lr(ToDouble(v, "lr"));
  else if (k == "alpha") o.alpha(ToDouble(v, "alpha"));
  else if (k == "eps") o.eps(ToDouble(v, "eps"));
  else if (k == "weightDecay") o.weight_decay(ToDouble(v, "weightDecay"));
  else if (k == "momentum") o.momentum(ToDouble(v, "momentum"));
  else if (k == "centered") o.centered(ToBool(v, false, "centered"));
  else return false;
  return true;
}

// Adam and AdamW share their option names.
template <typename O>
bool SetAdamLike(O& o, const std::string& k, Napi::Value v) {
  if (k == "lr") o.lr(ToDouble(v, "lr"));
  else if (k == "betas") o.betas(ToBetas(v));
  else if (k == "eps") o.eps(ToDouble(v, "eps"));
  else if (k == "weightDecay") o.weight_decay(ToDouble(v, "weightDecay"));
  else if (k == "amsgrad") o.amsgrad(ToBool(v, false, "amsgrad"));
  else return false;
  return true;
}

template <typename O>
void AdamLikeToJs(Napi::Object out, const O& o) {
  Napi::Env env = out.Env();
  out.Set("lr", o.lr());
  out.Set("betas", BetasToJs(env, o.betas()));
  out.Set("eps", o.eps());
  out.Set("weightDecay", o.weight_decay());
  out.Set("amsgrad", o.amsgrad());
}

// A state tensor as stored: detached, on the parameter's device and dtype, with the parameter's shape.
at::Tensor StateTensor(Napi::Object values, const char* key, const at::Tensor& param, bool required) {
  Napi::Value v = values.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    TORCH_CHECK(!required, "optimizer state: missing entry '", key, "'");
    return at::Tensor();
  }
  const at::Tensor& t = ToTensor(v, key);
  TORCH_CHECK(t.sizes() == param.sizes(), "optimizer state: entry '", key, "' has shape ", t.sizes(),
              " but the parameter has shape ", param.sizes());
  return t.detach().to(param.device(), param.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
}

int64_t StateStep(Napi::Object values) {
  Napi::Value v = values.Get("step");
  if (v.IsUndefined() || v.IsNull()) TORCH_CHECK(false, "optimizer state: missing entry 'step'");
  // Python 1.13 keeps step as a one-element float tensor; JavaScript state dicts keep a number.
  double d = IsTensor(v) ? ToTensor(v, "step").item<double>() : ToDouble(v, "step");
  TORCH_CHECK(d >= 0 && d == std::floor(d), "optimizer state: entry 'step' must be a non-negative integer, got ", d);
  return static_cast<int64_t>(d);
}

void CheckKeys(Napi::Object values, std::initializer_list<const char*> allowed) {
  Napi::Array keys = values.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    bool ok = false;
    for (const char* a : allowed) ok = ok || k == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      TORCH_CHECK(false, "optimizer state: unknown entry '", k, "' (this optimizer keeps ", list, ")");
    }
  }
}

void SetIfDefined(Napi::Object out, const char* key, const at::Tensor& t) {
  if (t.defined()) out.Set(key, TensorWrap::Make(out.Env(), t.detach().clone()));
}

template <typename S>
Napi::Value AdamLikeStateToJs(Napi::Object out, const S& s) {
  out.Set("step", Napi::Number::New(out.Env(), static_cast<double>(s.step())));
  SetIfDefined(out, "exp_avg", s.exp_avg());
  SetIfDefined(out, "exp_avg_sq", s.exp_avg_sq());
  SetIfDefined(out, "max_exp_avg_sq", s.max_exp_avg_sq());
  return out;
}

template <typename S>
std::unique_ptr<OptimizerParamState> AdamLikeStateFromJs(Napi::Object v, const at::Tensor& p) {
  CheckKeys(v, {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
  auto s = std::make_unique<S>();
  s->step(StateStep(v));
  s->exp_avg(StateTensor(v, "exp_avg", p, true));
  s->exp_avg_sq(StateTensor(v, "exp_avg_sq", p, true));
  s->max_exp_avg_sq(StateTensor(v, "max_exp_avg_sq", p, false));
  return s;
}

}  // namespace

std::unique_ptr<OptimizerOptions> NewOptimOptions(OptimKind kind) {
  switch (kind) {
    case OptimKind::SGD: return std::make_unique<SGDOptions>(0.01);
    case OptimKind::Adagrad: return std::make_unique<AdagradOptions>();
    case OptimKind::RMSprop: return std::make_unique<RMSpropOptions>();
    case OptimKind::Adam: return std::make_unique<AdamOptions>();
    case OptimKind::AdamW: return std::make_unique<AdamWOptions>();
  }
  TORCH_CHECK(false, "unknown optimizer kind");
}

void ApplyOptimOptions(OptimKind kind, OptimizerOptions& options, Napi::Object values) {
  Napi::Array keys = values.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = values.Get(k);
    if (v.IsUndefined()) continue;
    bool known = false;
    switch (kind) {
      case OptimKind::SGD: known = SetSgd(static_cast<SGDOptions&>(options), k, v); break;
      case OptimKind::Adagrad: known = SetAdagrad(static_cast<AdagradOptions&>(options), k, v); break;
      case OptimKind::RMSprop: known = SetRmsprop(static_cast<RMSpropOptions&>(options), k, v); break;
      case OptimKind::Adam: known = SetAdamLike(static_cast<AdamOptions&>(options), k, v); break;
      case OptimKind::AdamW: known = SetAdamLike(static_cast<AdamWOptions&>(options), k, v); break;
    }
    if (!known) throw Napi::TypeError::New(values.Env(), "optimizer: unknown option '" + k + "'");
  }
}

Napi::Object OptimOptionsToJs(Napi::Env env, OptimKind kind, const OptimizerOptions& options) {
  Napi::Object out = Napi::Object::New(env);
  switch (kind) {
    case OptimKind::SGD: {
      auto& o = static_cast<const SGDOptions&>(options);
      out.Set("lr", o.lr());
      out.Set("momentum", o.momentum());
      out.Set("dampening", o.dampening());
      out.Set("weightDecay", o.weight_decay());
      out.Set("nesterov", o.nesterov());
      break;
    }
    case OptimKind::Adagrad: {
      auto& o = static_cast<const AdagradOptions&>(options);
      out.Set("lr", o.lr());
      out.Set("lrDecay", o.lr_decay());
      out.Set("weightDecay", o.weight_decay());
      out.Set("initialAccumulatorValue", o.initial_accumulator_value());
      out.Set("eps", o.eps());
      break;
    }
    case OptimKind::RMSprop: {
      auto& o = static_cast<const RMSpropOptions&>(options);
      out.Set("lr", o.lr());
      out.Set("alpha", o.alpha());
      out.Set("eps", o.eps());
      out.Set("weightDecay", o.weight_decay());
      out.Set("momentum", o.momentum());
      out.Set("centered", o.centered());
      break;
    }
    case OptimKind::Adam: AdamLikeToJs(out, static_cast<const AdamOptions&>(options)); break;
    case OptimKind::AdamW: AdamLikeToJs(out, static_cast<const AdamWOptions&>(options)); break;
  }
  return out;
}

Napi::Value OptimStateToJs(Napi::Env env, OptimKind kind, const OptimizerParamState& state) {
  Napi::Object out = Napi::Object::New(env);
  switch (kind) {
    case OptimKind::SGD: {
      auto& s = static_cast<const SGDParamState&>(state);
      SetIfDefined(out, "momentum_buffer", s.momentum_buffer());
      break;
    }
    case OptimKind::Adagrad: {
      auto& s = static_cast<const AdagradParamState&>(state);
      out.Set("step", Napi::Number::New(env, static_cast<double>(s.step())));
      SetIfDefined(out, "sum", s.sum());
      break;
    }
    case OptimKind::RMSprop: {
      auto& s = static_cast<const RMSpropParamState&>(state);
      out.Set("step", Napi::Number::New(env, static_cast<double>(s.step())));
      SetIfDefined(out, "square_avg", s.square_avg());
      SetIfDefined(out, "momentum_buffer", s.momentum_buffer());
      SetIfDefined(out, "grad_avg", s.grad_avg());
      break;
    }
    case OptimKind::Adam: return AdamLikeStateToJs(out, static_cast<const AdamParamState&>(state));
    case OptimKind::AdamW: return AdamLikeStateToJs(out, static_cast<const AdamWParamState&>(state));
  }
  return out;
}

std::unique_ptr<OptimizerParamState> OptimStateFromJs(OptimKind kind, Napi::Object v, const at::Tensor& p) {
  switch (kind) {
    case OptimKind::SGD: {
      CheckKeys(v, {"momentum_buffer"});
      auto s = std::make_unique<SGDParamState>();
      s->momentum_buffer(StateTensor(v, "momentum_buffer", p, true));
      return s;
    }
    case OptimKind::Adagrad: {
      CheckKeys(v, {"step", "sum"});
      auto s = std::make_unique<AdagradParamState>();
      s->step(StateStep(v));
      s->sum(StateTensor(v, "sum", p, true));
      return s;
    }
    case OptimKind::RMSprop: {
      CheckKeys(v, {"step", "square_avg", "momentum_buffer", "grad_avg"});
      auto s = std::make_unique<RMSpropParamState>();
      // RMSprop's update never reads step, so a state without it (older checkpoints) starts from 0.
      Napi::Value step = v.Get("step");
      s->step(step.IsUndefined() || step.IsNull() ? 0 : StateStep(v));
      s->square_avg(StateTensor(v, "square_avg", p, true));
      s->momentum_buffer(StateTensor(v, "momentum_buffer", p, false));
      s->grad_avg(StateTensor(v, "grad_avg", p, false));
      return s;
    }
    case OptimKind::Adam: return AdamLikeStateFromJs<AdamParamState>(v, p);
    case OptimKind::AdamW: return AdamLikeStateFromJs<AdamWParamState>(v, p);
  }
  TORCH_CHECK(false, "unknown optimizer kind");
}

}  // namespace tg
