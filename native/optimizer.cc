// The Optimizer class over LibTorch's torch::optim implementations (see optimizer.h for the JS API).
//
// LibTorch's step() of SGD, Adagrad, RMSprop, Adam and AdamW performs, per parameter, the same tensor operations
// in the same order as PyTorch 1.13's single-tensor Python implementations (the CPU default), so trajectories
// match Python's; each skips a parameter whose grad is undefined before any weight decay or momentum.
#include "optimizer.h"
#include "addon.h"
#include "convert.h"
#include "guard.h"
#include "registry.h"
#include "tensor.h"
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>
#include <sstream>
#include <unordered_set>

namespace tg {
namespace {

using namespace torch::optim;

OptimKind ParseKind(Napi::Value v) {
  std::string k = ToString(v, "kind");
  if (k == "sgd") return OptimKind::SGD;
  if (k == "adagrad") return OptimKind::Adagrad;
  if (k == "rmsprop") return OptimKind::RMSprop;
  if (k == "adam") return OptimKind::Adam;
  if (k == "adamw") return OptimKind::AdamW;
  throw Napi::TypeError::New(v.Env(), "Optimizer: unknown kind '" + k + "'");
}

// LibTorch keys state by the parameter's TensorImpl: as its printed address up to 2.x (std::string), then as
// the pointer itself (void*). The map's key type tells which, so one source compiles against both.
template <typename Map>
typename Map::key_type StateKey(const Map&, const at::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;  // what c10::guts::to_string(p.unsafeGetTensorImpl()) prints
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

template <typename Map>
OptimizerParamState* FindState(Map& state, const at::Tensor& p) {
  auto it = state.find(StateKey(state, p));
  return it == state.end() ? nullptr : it->second.get();
}

void InitAdagradState(Optimizer& opt, const at::Tensor& p, double initialAccumulatorValue) {
  auto s = std::make_unique<AdagradParamState>();
  s->step(0);
  s->sum(at::full_like(p, initialAccumulatorValue, at::MemoryFormat::Preserve).detach());
  opt.state()[StateKey(opt.state(), p)] = std::move(s);
}

// While a step runs, a parameter that no longer requires grad has its stale grad hidden, so it cannot move.
class HideStaleGrads {
 public:
  explicit HideStaleGrads(Optimizer& opt) {
    for (auto& group : opt.param_groups())
      for (auto& p : group.params())
        if (p.grad().defined() && !p.requires_grad()) {
          hidden_.emplace_back(p, p.grad());
          p.mutable_grad() = at::Tensor();
        }
  }
  ~HideStaleGrads() {
    for (auto& [p, g] : hidden_) p.mutable_grad() = g;
  }

 private:
  std::vector<std::pair<at::Tensor, at::Tensor>> hidden_;
};

CodedError OptimizerBusy() {
  return CodedError("Optimizer: in use by a native fit until it ends (await fit before stepping, changing or disposing it)",
                    "ERR_OPTIMIZER_BUSY");
}

uint32_t Index(Napi::Value v, size_t size, const char* what) {
  int64_t i = ToInt(v, what);
  if (i < 0 || static_cast<size_t>(i) >= size)
    throw Napi::RangeError::New(v.Env(), std::string(what) + " " + std::to_string(i) + " is out of range [0, " +
                                             std::to_string(size) + ")");
  return static_cast<uint32_t>(i);
}

}  // namespace

void OptimizerWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Optimizer", {
      InstanceMethod("step", &OptimizerWrap::Step),
      InstanceMethod("zeroGrad", &OptimizerWrap::ZeroGrad),
      InstanceMethod("addParamGroup", &OptimizerWrap::AddParamGroup),
      InstanceAccessor("groupCount", &OptimizerWrap::GetGroupCount, nullptr),
      InstanceMethod("getGroupOptions", &OptimizerWrap::GetGroupOptions),
      InstanceMethod("setGroupOptions", &OptimizerWrap::SetGroupOptions),
      InstanceMethod("getState", &OptimizerWrap::GetState),
      InstanceMethod("setState", &OptimizerWrap::SetState),
      InstanceMethod("dispose", &OptimizerWrap::Dispose),
  });
  exports.Set("Optimizer", ctor);
  env.GetInstanceData<Addon>()->optimizerCtor = Napi::Persistent(ctor);
}

OptimizerWrap::OptimizerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OptimizerWrap>(info) {
  Napi::Env env = info.Env();
  Guarded(env, [&] {
    kind_ = ParseKind(info[0]);
    if (!info[1].IsArray()) throw Napi::TypeError::New(env, "Optimizer: groups must be an array");
    std::unique_ptr<OptimizerOptions> defaults = NewOptimOptions(kind_);
    if (info[2].IsObject()) ApplyOptimOptions(kind_, *defaults, info[2].As<Napi::Object>());
    Napi::Array groupsJs = info[1].As<Napi::Array>();
    std::vector<OptimizerParamGroup> groups;
    std::vector<at::Tensor> all;
    for (uint32_t i = 0; i < groupsJs.Length(); ++i) {
      Napi::Value g = groupsJs.Get(i);
      if (!g.IsObject()) throw Napi::TypeError::New(env, "Optimizer: each group must be { params, options }");
      std::vector<at::Tensor> params = ToTensorList(g.As<Napi::Object>().Get("params"), "params");
      std::unique_ptr<OptimizerOptions> options = defaults->clone();
      Napi::Value o = g.As<Napi::Object>().Get("options");
      if (o.IsObject()) ApplyOptimOptions(kind_, *options, o.As<Napi::Object>());
      all.insert(all.end(), params.begin(), params.end());
      groups.emplace_back(std::move(params), std::move(options));
    }
    CheckNoDuplicates(all);
    switch (kind_) {
      case OptimKind::SGD: opt_ = std::make_unique<SGD>(groups, static_cast<SGDOptions&>(*defaults)); break;
      case OptimKind::Adagrad: opt_ = std::make_unique<Adagrad>(groups, static_cast<AdagradOptions&>(*defaults)); break;
      case OptimKind::RMSprop: opt_ = std::make_unique<RMSprop>(groups, static_cast<RMSpropOptions&>(*defaults)); break;
      case OptimKind::Adam: opt_ = std::make_unique<Adam>(groups, static_cast<AdamOptions&>(*defaults)); break;
      case OptimKind::AdamW: opt_ = std::make_unique<AdamW>(groups, static_cast<AdamWOptions&>(*defaults)); break;
    }
    // LibTorch's Adagrad fills every sum from the defaults; each group's own initial value applies instead.
    if (kind_ == OptimKind::Adagrad)
      for (auto& group : opt_->param_groups())
        for (auto& p : group.params())
          InitAdagradState(*opt_, p, static_cast<AdagradOptions&>(group.options()).initial_accumulator_value());
  });
}

Optimizer& OptimizerWrap::Opt() {
  TORCH_CHECK(opt_, "Optimizer: used after dispose()");
  if (leased_) throw OptimizerBusy();
  return *opt_;
}

OptimizerParamGroup& OptimizerWrap::Group(Napi::Value index) {
  auto& groups = Opt().param_groups();
  return groups[Index(index, groups.size(), "group")];
}

const at::Tensor& OptimizerWrap::Param(OptimizerParamGroup& group, Napi::Value index) {
  return group.params()[Index(index, group.params().size(), "parameter")];
}

void OptimizerWrap::CheckNoDuplicates(const std::vector<at::Tensor>& params) {
  std::unordered_set<const void*> seen;
  if (opt_)
    for (auto& group : opt_->param_groups())
      for (auto& p : group.params()) seen.insert(p.unsafeGetTensorImpl());
  for (auto& p : params) {
    TORCH_CHECK(p.is_leaf(), "Optimizer: can't optimize a non-leaf tensor (shape ", p.sizes(),
                "): optimize the leaf it was computed from, or detach() it");
    TORCH_CHECK(seen.insert(p.unsafeGetTensorImpl()).second,
                "Optimizer: a parameter (shape ", p.sizes(), ") appears in more than one parameter group");
  }
}

void OptimizerWrap::EnsureState() {
  Optimizer& opt = *opt_;  // not Opt(): also runs on a native fit's thread, which holds the lease
  auto& state = opt.state();
  for (auto& group : opt.param_groups()) {
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      OptimizerParamState* s = FindState(state, p);
      auto zeros = [&] { return at::zeros_like(p, at::MemoryFormat::Preserve).detach(); };
      switch (kind_) {
        case OptimKind::SGD: break;
        case OptimKind::Adagrad:
          if (!s) InitAdagradState(opt, p, static_cast<AdagradOptions&>(group.options()).initial_accumulator_value());
          break;
        case OptimKind::RMSprop: {
          auto& o = static_cast<RMSpropOptions&>(group.options());
          auto* r = static_cast<RMSpropParamState*>(s);
          if (r && o.momentum() > 0 && !r->momentum_buffer().defined()) r->momentum_buffer(zeros());
          if (r && o.centered() && !r->grad_avg().defined()) r->grad_avg(zeros());
          break;
        }
        case OptimKind::Adam: {
          auto* a = static_cast<AdamParamState*>(s);
          if (a && static_cast<AdamOptions&>(group.options()).amsgrad() && !a->max_exp_avg_sq().defined())
            a->max_exp_avg_sq(zeros());
          break;
        }
        case OptimKind::AdamW: {
          auto* a = static_cast<AdamWParamState*>(s);
          if (a && static_cast<AdamWOptions&>(group.options()).amsgrad() && !a->max_exp_avg_sq().defined())
            a->max_exp_avg_sq(zeros());
          break;
        }
      }
    }
  }
}

Napi::Value OptimizerWrap::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    Opt();
    StepNow();
    return env.Undefined();
  });
}

void OptimizerWrap::StepNow() {
  Optimizer& opt = *opt_;
  at::NoGradGuard noGrad;
  HideStaleGrads hide(opt);
  EnsureState();
  opt.step();
  // LibTorch's SGD writes through p.data(), which has its own version counter: bump the parameters' own counters, as
  // Python's in-place updates do, so a pending data() of a parameter sees that it moved.
  for (auto& group : opt.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) p.unsafeGetTensorImpl()->bump_version();
}

Napi::Value OptimizerWrap::ZeroGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    Opt();
    ZeroGradNow();
    return env.Undefined();
  });
}

void OptimizerWrap::ZeroGradNow() {
  // Not LibTorch's zero_grad(): 1.13 zero-fills, and a zero grad is not "no grad" (weight decay would move it).
  for (auto& group : opt_->param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

void OptimizerWrap::Lease() {
  Opt();
  bool expected = false;
  if (!leased_.compare_exchange_strong(expected, true)) throw OptimizerBusy();
}

std::vector<at::Tensor> OptimizerWrap::AllParams() {
  std::vector<at::Tensor> out;
  for (auto& group : Opt().param_groups())
    for (auto& p : group.params()) out.push_back(p);
  return out;
}

OptimizerWrap* OptimizerWrap::UnwrapOrNull(Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  Addon* addon = v.Env().GetInstanceData<Addon>();
  if (!addon || addon->optimizerCtor.IsEmpty() || !o.InstanceOf(addon->optimizerCtor.Value())) return nullptr;
  return Unwrap(o);
}

Napi::Value OptimizerWrap::AddParamGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    Optimizer& opt = Opt();
    std::vector<at::Tensor> params = ToTensorList(info[0], "params");
    CheckNoDuplicates(params);
    std::unique_ptr<OptimizerOptions> options = opt.defaults().clone();
    if (info[1].IsObject()) ApplyOptimOptions(kind_, *options, info[1].As<Napi::Object>());
    opt.add_param_group(OptimizerParamGroup(params, std::move(options)));
    if (kind_ == OptimKind::Adagrad) {
      auto& group = opt.param_groups().back();
      for (auto& p : group.params())
        InitAdagradState(opt, p, static_cast<AdagradOptions&>(group.options()).initial_accumulator_value());
    }
    return env.Undefined();
  });
}

Napi::Value OptimizerWrap::GetGroupCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] { return Napi::Number::New(env, static_cast<double>(Opt().param_groups().size())); });
}

Napi::Value OptimizerWrap::GetGroupOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] { return OptimOptionsToJs(env, kind_, Group(info[0]).options()); });
}

Napi::Value OptimizerWrap::SetGroupOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    OptimizerParamGroup& group = Group(info[0]);
    if (!info[1].IsObject()) throw Napi::TypeError::New(env, "setGroupOptions: expected an options object");
    // Applied to a copy first, so a bad value leaves the group as it was.
    std::unique_ptr<OptimizerOptions> updated = group.options().clone();
    ApplyOptimOptions(kind_, *updated, info[1].As<Napi::Object>());
    group.set_options(std::move(updated));
    return env.Undefined();
  });
}

Napi::Value OptimizerWrap::GetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    OptimizerParamGroup& group = Group(info[0]);
    const at::Tensor& p = Param(group, info[1]);
    OptimizerParamState* s = FindState(Opt().state(), p);
    if (!s) return env.Undefined();
    return OptimStateToJs(env, kind_, *s);
  });
}

Napi::Value OptimizerWrap::SetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] {
    OptimizerParamGroup& group = Group(info[0]);
    const at::Tensor& p = Param(group, info[1]);
    auto& state = Opt().state();
    if (info[2].IsUndefined() || info[2].IsNull()) {
      state.erase(StateKey(state, p));
    } else {
      if (!info[2].IsObject()) throw Napi::TypeError::New(env, "setState: expected a state object or undefined");
      state[StateKey(state, p)] = OptimStateFromJs(kind_, info[2].As<Napi::Object>(), p);
    }
    return env.Undefined();
  });
}

Napi::Value OptimizerWrap::Dispose(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    if (leased_) throw OptimizerBusy();
    opt_.reset();
    return info.Env().Undefined();
  });
}

void RegisterOptim(Napi::Env env, Napi::Object exports) {
  OptimizerWrap::Init(env, exports);
  RegisterClipGrad(env, exports);
}

}  // namespace tg
