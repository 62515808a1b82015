// tg.nn.functional: layers, activations and losses as free functions (positional arguments; TypeScript
// turns options objects into these positions).
#include "registry.h"
#include "tensor.h"
#include "guard.h"
#include "convert.h"

namespace tg {
namespace {

using T = at::Tensor;
using Info = Napi::CallbackInfo;

bool Given(const Info& info, size_t i) { return info.Length() > i && !info[i].IsUndefined() && !info[i].IsNull(); }
int64_t IntOr(const Info& info, size_t i, int64_t d, const char* what) { return Given(info, i) ? ToInt(info[i], what) : d; }
double DoubleOr(const Info& info, size_t i, double d, const char* what) { return Given(info, i) ? ToDouble(info[i], what) : d; }
std::vector<int64_t> ListOr(const Info& info, size_t i, std::vector<int64_t> d, const char* what) {
  return Given(info, i) ? ToIntList(info[i], what) : d;
}
// Reduction names as PyTorch spells them.
int64_t Reduction(const Info& info, size_t i) {
  if (!Given(info, i)) return at::Reduction::Mean;
  std::string r = ToString(info[i], "reduction");
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw Napi::TypeError::New(info.Env(), "reduction: expected 'mean', 'sum' or 'none', got '" + r + "'");
}

template <T (*Fn)(const Info&)>
Napi::Value Entry(const Info& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&] { return TensorWrap::Make(env, Fn(info)); });
}
// In-place activations (relu_, elu_, ...) modify their input and return that same JS object.
template <void (*Fn)(const Info&)>
Napi::Value InPlaceEntry(const Info& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    Fn(info);
    return info[0];
  });
}

// linear(input, weight, bias?)
T Linear(const Info& i) { return at::linear(ToTensor(i[0], "input"), ToTensor(i[1], "weight"), ToOptionalTensor(i[2], "bias")); }
// conv1d/conv2d(input, weight, bias?, stride, padding, dilation, groups); padding may be 'same' or 'valid'
T Conv(const Info& i, int dims) {
  T input = ToTensor(i[0], "input"), weight = ToTensor(i[1], "weight"), bias = ToOptionalTensor(i[2], "bias");
  TORCH_CHECK_VALUE(input.dim() == dims + 1 || input.dim() == dims + 2, "conv", dims, "d(): expected a ", dims + 1, "-D or ",
                    dims + 2, "-D input, got shape ", input.sizes());
  std::vector<int64_t> stride = ListOr(i, 3, {1}, "stride"), dilation = ListOr(i, 5, {1}, "dilation");
  int64_t groups = IntOr(i, 6, 1, "groups");
  if (Given(i, 4) && i[4].IsString()) {
    std::string pad = ToString(i[4], "padding");
    TORCH_CHECK_VALUE(pad == "same" || pad == "valid", "padding: expected 'same', 'valid' or integers, got '", pad, "'");
    return dims == 1 ? at::conv1d(input, weight, bias, stride, pad, dilation, groups)
                     : at::conv2d(input, weight, bias, stride, pad, dilation, groups);
  }
  std::vector<int64_t> padding = ListOr(i, 4, {0}, "padding");
  return dims == 1 ? at::conv1d(input, weight, bias, stride, padding, dilation, groups)
                   : at::conv2d(input, weight, bias, stride, padding, dilation, groups);
}
T Conv1d(const Info& i) { return Conv(i, 1); }
T Conv2d(const Info& i) { return Conv(i, 2); }
// maxPool2d(input, kernel, stride?, padding, dilation, ceilMode)
T MaxPool2d(const Info& i) {
  std::vector<int64_t> k = ToIntList(i[1], "kernelSize");
  return at::max_pool2d(ToTensor(i[0], "input"), k, ListOr(i, 2, k, "stride"), ListOr(i, 3, {0}, "padding"),
                        ListOr(i, 4, {1}, "dilation"), ToBool(i[5], false, "ceilMode"));
}
// avgPool2d(input, kernel, stride?, padding, ceilMode, countIncludePad)
T AvgPool2d(const Info& i) {
  std::vector<int64_t> k = ToIntList(i[1], "kernelSize");
  return at::avg_pool2d(ToTensor(i[0], "input"), k, ListOr(i, 2, k, "stride"), ListOr(i, 3, {0}, "padding"),
                        ToBool(i[4], false, "ceilMode"), ToBool(i[5], true, "countIncludePad"));
}
// A single integer means a square output, as in PyTorch.
std::vector<int64_t> Pair2d(const Info& i, size_t at, const char* what) {
  std::vector<int64_t> v = ToIntList(i[at], what);
  if (v.size() == 1) v.push_back(v[0]);
  return v;
}
T AdaptiveAvgPool2d(const Info& i) { return at::adaptive_avg_pool2d(ToTensor(i[0], "input"), Pair2d(i, 1, "outputSize")); }
// batchNorm(input, runningMean?, runningVar?, weight?, bias?, training, momentum, eps)
T BatchNorm(const Info& i) {
  return at::batch_norm(ToTensor(i[0], "input"), ToOptionalTensor(i[3], "weight"), ToOptionalTensor(i[4], "bias"),
                        ToOptionalTensor(i[1], "runningMean"), ToOptionalTensor(i[2], "runningVar"), ToBool(i[5], false, "training"),
                        DoubleOr(i, 6, 0.1, "momentum"), DoubleOr(i, 7, 1e-5, "eps"), false);
}
// layerNorm(input, normalizedShape, weight?, bias?, eps)
T LayerNorm(const Info& i) {
  return at::layer_norm(ToTensor(i[0], "input"), ToIntList(i[1], "normalizedShape"), ToOptionalTensor(i[2], "weight"),
                        ToOptionalTensor(i[3], "bias"), DoubleOr(i, 4, 1e-5, "eps"), false);
}
// dropout(input, p, training)
T Dropout(const Info& i) {
  double p = DoubleOr(i, 1, 0.5, "p");
  if (p < 0 || p > 1) throw Napi::RangeError::New(i.Env(), "dropout(): p must be between 0 and 1, got " + std::to_string(p));
  return at::dropout(ToTensor(i[0], "input"), p, ToBool(i[2], true, "training"));
}
// embedding(input, weight, paddingIdx?)
T Embedding(const Info& i) {
  return at::embedding(ToTensor(i[1], "weight"), ToTensor(i[0], "input"), IntOr(i, 2, -1, "paddingIdx"), false, false);
}
T Relu(const Info& i) { return at::relu(ToTensor(i[0], "input")); }
T Elu(const Info& i) { return at::elu(ToTensor(i[0], "input"), DoubleOr(i, 1, 1.0, "alpha")); }
T Selu(const Info& i) { return at::selu(ToTensor(i[0], "input")); }
// ToTensor hands out a const reference to the wrapper's handle; the in-place ops change its values, not the handle.
void ReluInPlace(const Info& i) { at::relu_(const_cast<T&>(ToTensor(i[0], "input"))); }
void EluInPlace(const Info& i) { at::elu_(const_cast<T&>(ToTensor(i[0], "input")), DoubleOr(i, 1, 1.0, "alpha")); }
void SeluInPlace(const Info& i) { at::selu_(const_cast<T&>(ToTensor(i[0], "input"))); }
void LeakyReluInPlace(const Info& i) { at::leaky_relu_(const_cast<T&>(ToTensor(i[0], "input")), DoubleOr(i, 1, 0.01, "negativeSlope")); }
T LeakyRelu(const Info& i) { return at::leaky_relu(ToTensor(i[0], "input"), DoubleOr(i, 1, 0.01, "negativeSlope")); }
T Gelu(const Info& i) {
  std::string approx = Given(i, 1) ? ToString(i[1], "approximate") : "none";
  TORCH_CHECK_VALUE(approx == "none" || approx == "tanh", "gelu(): approximate must be 'none' or 'tanh'");
  return at::gelu(ToTensor(i[0], "input"), approx);
}
T Hardswish(const Info& i) { return at::hardswish(ToTensor(i[0], "input")); }
T Hardsigmoid(const Info& i) { return at::hardsigmoid(ToTensor(i[0], "input")); }
T Silu(const Info& i) { return at::silu(ToTensor(i[0], "input")); }
T Softplus(const Info& i) { return at::softplus(ToTensor(i[0], "input"), DoubleOr(i, 1, 1.0, "beta"), DoubleOr(i, 2, 20.0, "threshold")); }
T Tanh(const Info& i) { return at::tanh(ToTensor(i[0], "input")); }
T Sigmoid(const Info& i) { return at::sigmoid(ToTensor(i[0], "input")); }
T Softmax(const Info& i) { return at::softmax(ToTensor(i[0], "input"), ToInt(i[1], "dim")); }
T LogSoftmax(const Info& i) { return at::log_softmax(ToTensor(i[0], "input"), ToInt(i[1], "dim")); }
// interpolate(input, size?, scaleFactor?, mode, alignCorners?, antialias?)
T Interpolate(const Info& i) {
  T input = ToTensor(i[0], "input");
  std::string mode = Given(i, 3) ? ToString(i[3], "mode") : "nearest";
  int64_t spatial = input.dim() - 2;
  TORCH_CHECK_VALUE(spatial >= 1 && spatial <= 2, "interpolate(): expected a 3-D or 4-D input, got shape ", input.sizes());
  c10::optional<std::vector<int64_t>> size;
  c10::optional<std::vector<double>> scales;
  if (Given(i, 1)) {
    auto s = ToIntList(i[1], "size");
    TORCH_CHECK_VALUE(s.size() == 1 || static_cast<int64_t>(s.size()) == spatial, "interpolate(): size has ", s.size(),
                      " values but the input has ", spatial, " spatial dimension", spatial == 1 ? "" : "s");
    if (s.size() == 1 && spatial == 2) s.push_back(s[0]);
    size = s;
  } else {
    TORCH_CHECK_VALUE(Given(i, 2), "interpolate(): give either size or scaleFactor");
    double f = ToDouble(i[2], "scaleFactor");
    scales = std::vector<double>(static_cast<size_t>(spatial), f);
  }
  c10::optional<bool> align;
  if (Given(i, 4)) align = ToBool(i[4], false, "alignCorners");
  // as torch.nn.functional.interpolate: corners only mean something to the interpolating modes
  if (align && mode == "nearest")
    throw Napi::TypeError::New(i.Env(), "interpolate(): alignCorners can only be set with the modes 'linear', 'bilinear' or 'bicubic'");
  bool antialias = Given(i, 5) && ToBool(i[5], false, "antialias");
  // as F.interpolate: antialiasing exists for the 2-D interpolating modes only
  if (antialias && mode != "bilinear" && mode != "bicubic")
    throw Napi::TypeError::New(i.Env(), "interpolate(): antialias can only be set with the modes 'bilinear' or 'bicubic'");
  at::OptionalIntArrayRef sizeRef = size ? at::OptionalIntArrayRef(*size) : c10::nullopt;
  c10::optional<at::ArrayRef<double>> scaleRef = scales ? c10::optional<at::ArrayRef<double>>(*scales) : c10::nullopt;
  if (mode == "nearest") return spatial == 1 ? at::upsample_nearest1d(input, sizeRef, scaleRef) : at::upsample_nearest2d(input, sizeRef, scaleRef);
  if (mode == "bilinear") {
    TORCH_CHECK_VALUE(spatial == 2, "interpolate(): bilinear needs a 4-D input");
    if (antialias) return at::_upsample_bilinear2d_aa(input, sizeRef, align.value_or(false), scaleRef);
    return at::upsample_bilinear2d(input, sizeRef, align.value_or(false), scaleRef);
  }
  if (mode == "linear") {
    TORCH_CHECK_VALUE(spatial == 1, "interpolate(): linear needs a 3-D input");
    return at::upsample_linear1d(input, sizeRef, align.value_or(false), scaleRef);
  }
  if (mode == "bicubic") {
    TORCH_CHECK_VALUE(spatial == 2, "interpolate(): bicubic needs a 4-D input");
    if (antialias) return at::_upsample_bicubic2d_aa(input, sizeRef, align.value_or(false), scaleRef);
    return at::upsample_bicubic2d(input, sizeRef, align.value_or(false), scaleRef);
  }
  throw Napi::TypeError::New(i.Env(), "interpolate(): mode must be 'nearest', 'linear', 'bilinear' or 'bicubic', got '" + mode + "'");
}
// crossEntropy(input, target, weight?, reduction, ignoreIndex, labelSmoothing)
T CrossEntropy(const Info& i) {
  return at::cross_entropy_loss(ToTensor(i[0], "input"), ToTensor(i[1], "target"), ToOptionalTensor(i[2], "weight"), Reduction(i, 3),
                                IntOr(i, 4, -100, "ignoreIndex"), DoubleOr(i, 5, 0.0, "labelSmoothing"));
}
// nllLoss(input, target, weight?, reduction, ignoreIndex)
T NllLoss(const Info& i) {
  return at::nll_loss_nd(ToTensor(i[0], "input"), ToTensor(i[1], "target"), ToOptionalTensor(i[2], "weight"), Reduction(i, 3),
                         IntOr(i, 4, -100, "ignoreIndex"));
}
T MseLoss(const Info& i) { return at::mse_loss(ToTensor(i[0], "input"), ToTensor(i[1], "target"), Reduction(i, 2)); }
T L1Loss(const Info& i) { return at::l1_loss(ToTensor(i[0], "input"), ToTensor(i[1], "target"), Reduction(i, 2)); }
T SmoothL1Loss(const Info& i) {
  return at::smooth_l1_loss(ToTensor(i[0], "input"), ToTensor(i[1], "target"), Reduction(i, 2), DoubleOr(i, 3, 1.0, "beta"));
}
// binaryCrossEntropyWithLogits(input, target, weight?, reduction, posWeight?)
T BceWithLogits(const Info& i) {
  return at::binary_cross_entropy_with_logits(ToTensor(i[0], "input"), ToTensor(i[1], "target"), ToOptionalTensor(i[2], "weight"),
                                              ToOptionalTensor(i[4], "posWeight"), Reduction(i, 3));
}
T BinaryCrossEntropy(const Info& i) {
  return at::binary_cross_entropy(ToTensor(i[0], "input"), ToTensor(i[1], "target"), ToOptionalTensor(i[2], "weight"), Reduction(i, 3));
}
// marginRankingLoss(input1, input2, target, margin, reduction)
T MarginRankingLoss(const Info& i) {
  return at::margin_ranking_loss(ToTensor(i[0], "input1"), ToTensor(i[1], "input2"), ToTensor(i[2], "target"),
                                 DoubleOr(i, 3, 0.0, "margin"), Reduction(i, 4));
}
// tripletMarginLoss(anchor, positive, negative, margin, p, eps, swap, reduction)
T TripletMarginLoss(const Info& i) {
  return at::triplet_margin_loss(ToTensor(i[0], "anchor"), ToTensor(i[1], "positive"), ToTensor(i[2], "negative"),
                                 DoubleOr(i, 3, 1.0, "margin"), DoubleOr(i, 4, 2.0, "p"), DoubleOr(i, 5, 1e-6, "eps"),
                                 ToBool(i[6], false, "swap"), Reduction(i, 7));
}
T KlDiv(const Info& i) {
  return at::kl_div(ToTensor(i[0], "input"), ToTensor(i[1], "target"), Reduction(i, 2), ToBool(i[3], false, "logTarget"));
}
// oneHot(indices, numClasses = -1)
T OneHot(const Info& i) {
  const T& indices = ToTensor(i[0], "indices");
  int64_t n = IntOr(i, 1, -1, "numClasses");
  try {
    return at::one_hot(indices, n);
  } catch (const c10::IndexError&) {
    throw;
  } catch (const c10::Error& e) {
    // a class index outside [0, numClasses) is an out-of-range index, not a LibTorch failure
    std::string m = e.msg();
    if (m.find("Class values must be") != std::string::npos) TORCH_CHECK_INDEX(false, "oneHot(): ", m);
    throw;
  }
}
T Pad(const Info& i) {
  return at::constant_pad_nd(ToTensor(i[0], "input"), ToIntList(i[1], "pad"), DoubleOr(i, 2, 0.0, "value"));
}
T CosineSimilarity(const Info& i) {
  return at::cosine_similarity(ToTensor(i[0], "x1"), ToTensor(i[1], "x2"), IntOr(i, 2, 1, "dim"), DoubleOr(i, 3, 1e-8, "eps"));
}
T PairwiseDistance(const Info& i) {
  return at::pairwise_distance(ToTensor(i[0], "x1"), ToTensor(i[1], "x2"), DoubleOr(i, 2, 2.0, "p"), DoubleOr(i, 3, 1e-6, "eps"),
                               ToBool(i[4], false, "keepdim"));
}

}  // namespace

void RegisterFunctional(Napi::Env env, Napi::Object exports) {
  Napi::Object F = Napi::Object::New(env);
#define TG_F(js, fn) F.Set(js, Napi::Function::New<Entry<&fn>>(env, js));
  TG_F("linear", Linear) TG_F("conv1d", Conv1d) TG_F("conv2d", Conv2d) TG_F("maxPool2d", MaxPool2d) TG_F("avgPool2d", AvgPool2d)
  TG_F("adaptiveAvgPool2d", AdaptiveAvgPool2d) TG_F("batchNorm", BatchNorm) TG_F("layerNorm", LayerNorm) TG_F("dropout", Dropout)
  TG_F("embedding", Embedding) TG_F("relu", Relu) TG_F("elu", Elu) TG_F("selu", Selu) TG_F("leakyRelu", LeakyRelu)
  TG_F("gelu", Gelu) TG_F("hardswish", Hardswish) TG_F("hardsigmoid", Hardsigmoid) TG_F("silu", Silu) TG_F("softplus", Softplus) TG_F("tanh", Tanh) TG_F("sigmoid", Sigmoid) TG_F("softmax", Softmax)
  TG_F("logSoftmax", LogSoftmax) TG_F("interpolate", Interpolate) TG_F("crossEntropy", CrossEntropy) TG_F("nllLoss", NllLoss)
  TG_F("mseLoss", MseLoss) TG_F("l1Loss", L1Loss) TG_F("smoothL1Loss", SmoothL1Loss)
  TG_F("binaryCrossEntropyWithLogits", BceWithLogits) TG_F("binaryCrossEntropy", BinaryCrossEntropy)
  TG_F("marginRankingLoss", MarginRankingLoss) TG_F("tripletMarginLoss", TripletMarginLoss) TG_F("klDiv", KlDiv)
  TG_F("oneHot", OneHot) TG_F("pad", Pad) TG_F("cosineSimilarity", CosineSimilarity) TG_F("pairwiseDistance", PairwiseDistance)
#define TG_F_INPLACE(js, fn) F.Set(js, Napi::Function::New<InPlaceEntry<&fn>>(env, js));
  TG_F_INPLACE("relu_", ReluInPlace) TG_F_INPLACE("elu_", EluInPlace) TG_F_INPLACE("selu_", SeluInPlace)
  TG_F_INPLACE("leakyRelu_", LeakyReluInPlace)
  exports.Set("functional", F);
}

}  // namespace tg
