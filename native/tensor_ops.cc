// Tensor methods named after torch.Tensor's (camelCase); `name_` forms work in place and return this.
#include "tensor.h"
#include "tensor_fast.h"
#include "guard.h"
#include "convert.h"
#include <torch/csrc/autograd/function.h>

namespace tg {
namespace {

using T = at::Tensor;
using Info = Napi::CallbackInfo;

bool Given(const Info& info, size_t i) { return info.Length() > i && !info[i].IsUndefined() && !info[i].IsNull(); }

// A number exponent takes pow(Tensor, Scalar), as Python's x.pow(n) does: only that overload refuses integers to
// negative integer powers (pow(Tensor, Tensor) truncates them to 0), and it gives Python's result dtypes.
bool IsNumber(const at::Tensor& o) { return o.unsafeGetTensorImpl()->is_wrapped_number(); }

// LibTorch reports some out-of-range indices with a plain c10::Error; re-raise those as IndexError (a RangeError in JS).
template <typename F>
auto IndexChecked(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const c10::IndexError&) {
    throw;
  } catch (const c10::Error& e) {
    std::string m = e.what_without_backtrace();
    if (m.find("out of bounds") != std::string::npos || m.find("out of range") != std::string::npos ||
        m.find("exceeds dimension size") != std::string::npos)
      TORCH_CHECK_INDEX(false, e.msg());
    throw;
  }
}

// ---- elementwise unary: X(jsName, expression over `s`)
#define TG_UNARY_OPS(X)                                                                                         \
  X(neg, s.neg()) X(abs, s.abs()) X(exp, s.exp()) X(expm1, s.expm1()) X(log, s.log()) X(log2, s.log2())       \
  X(log10, s.log10()) X(log1p, s.log1p()) X(sqrt, s.sqrt()) X(rsqrt, s.rsqrt()) X(square, s.square())         \
  X(sin, s.sin()) X(cos, s.cos()) X(tan, s.tan()) X(asin, s.asin()) X(acos, s.acos()) X(atan, s.atan())       \
  X(sinh, s.sinh()) X(cosh, s.cosh()) X(tanh, s.tanh()) X(sigmoid, s.sigmoid()) X(relu, s.relu())             \
  X(floor, s.floor()) X(ceil, s.ceil()) X(round, s.round()) X(trunc, s.trunc()) X(frac, s.frac())             \
  X(sign, s.sign()) X(reciprocal, s.reciprocal()) X(erf, s.erf()) X(erfinv, s.erfinv())                       \
  X(logicalNot, s.logical_not()) X(isnan, s.isnan()) X(isinf, s.isinf()) X(isfinite, s.isfinite())           \
  X(bitwiseNot, s.bitwise_not()) X(t, s.t()) X(contiguous, s.contiguous()) X(clone, s.clone())               \
  X(detach, s.detach()) X(float, s.to(at::kFloat)) X(double, s.to(at::kDouble)) X(long, s.to(at::kLong))      \
  X(int, s.to(at::kInt)) X(bool, s.to(at::kBool)) X(half, s.to(at::kHalf)) X(cpu, s.cpu())                   \
  X(nonzero, s.nonzero())

#define TG_UNARY_INPLACE_OPS(X)                                                                                  \
  X(neg_, s.neg_()) X(abs_, s.abs_()) X(exp_, s.exp_()) X(log_, s.log_()) X(sqrt_, s.sqrt_())               \
  X(sigmoid_, s.sigmoid_()) X(tanh_, s.tanh_()) X(relu_, s.relu_()) X(zero_, s.zero_()) X(floor_, s.floor_()) \
  X(ceil_, s.ceil_()) X(round_, s.round_()) X(reciprocal_, s.reciprocal_()) X(square_, s.square_())          \
  X(detach_, s.detach_())

// ---- binary with broadcasting; `o` is a tensor or a wrapped scalar
#define TG_BINARY_OPS(X)                                                                                         \
  X(mul, at::mul(s, o)) X(pow, IsNumber(o) ? at::pow(s, o.item()) : at::pow(s, o)) X(remainder, at::remainder(s, o)) X(fmod, at::fmod(s, o))        \
  X(maximum, at::maximum(s, o)) X(minimum, at::minimum(s, o)) X(atan2, at::atan2(s, o))                       \
  X(eq, at::eq(s, o)) X(ne, at::ne(s, o)) X(lt, at::lt(s, o)) X(le, at::le(s, o)) X(gt, at::gt(s, o))          \
  X(ge, at::ge(s, o)) X(logicalAnd, at::logical_and(s, o)) X(logicalOr, at::logical_or(s, o))                  \
  X(logicalXor, at::logical_xor(s, o)) X(matmul, at::matmul(s, o)) X(mm, at::mm(s, o)) X(bmm, at::bmm(s, o))   \
  X(dot, at::dot(s, o)) X(outer, at::outer(s, o)) X(mv, at::mv(s, o)) X(expandAs, s.expand_as(o))              \
  X(viewAs, s.view_as(o)) X(reshapeAs, s.reshape_as(o)) X(typeAs, s.type_as(o))

#define TG_BINARY_INPLACE_OPS(X)                                                                                 \
  X(mul_, s.mul_(o)) X(pow_, IsNumber(o) ? s.pow_(o.item()) : s.pow_(o)) X(remainder_, s.remainder_(o)) X(maximum_, s.copy_(at::maximum(s, o))) \
  X(copy_, s.copy_(o)) X(fill_, s.fill_(o)) X(eq_, s.eq_(o)) X(lt_, s.lt_(o)) X(gt_, s.gt_(o))

#define TG_DEFINE_UNARY(name, expr) \
  T name##Op(const T& s) { return expr; }
TG_UNARY_OPS(TG_DEFINE_UNARY)
#define TG_DEFINE_UNARY_INPLACE(name, expr) \
  void name##Op(T& s) { expr; }
TG_UNARY_INPLACE_OPS(TG_DEFINE_UNARY_INPLACE)
#define TG_DEFINE_BINARY(name, expr) \
  T name##Op(const T& s, const T& o) { return expr; }
TG_BINARY_OPS(TG_DEFINE_BINARY)
#define TG_DEFINE_BINARY_INPLACE(name, expr) \
  void name##Op(T& s, const T& o) { expr; }
TG_BINARY_INPLACE_OPS(TG_DEFINE_BINARY_INPLACE)

// ---- ops with their own arguments
at::Scalar Alpha(const Info& info, size_t i) { return Given(info, i) ? ToScalar(info[i], "alpha") : at::Scalar(1); }
T AddOp(const T& s, const Info& info) {
  if (info[0].IsNumber() && !Given(info, 1)) return at::add(s, ToTensorOrScalar(info[0], "other"));
  return at::add(s, ToTensorOrScalar(info[0], "other"), Alpha(info, 1));
}
T SubOp(const T& s, const Info& info) { return at::sub(s, ToTensorOrScalar(info[0], "other"), Alpha(info, 1)); }
void AddInPlaceOp(T& s, const Info& info) { s.add_(ToTensorOrScalar(info[0], "other"), Alpha(info, 1)); }
void SubInPlaceOp(T& s, const Info& info) { s.sub_(ToTensorOrScalar(info[0], "other"), Alpha(info, 1)); }
c10::optional<c10::string_view> RoundingMode(const Info& info, size_t i, std::string& keep) {
  if (!Given(info, i)) return c10::nullopt;
  keep = ToString(info[i], "roundingMode");
  TORCH_CHECK_VALUE(keep == "trunc" || keep == "floor", "div(): roundingMode must be 'trunc' or 'floor', got '", keep, "'");
  return c10::string_view(keep);
}
// Without a rounding mode, the overload Python's x.div(y) calls (div.Tensor: DivBackward0, not div.Tensor_mode's 2).
T DivOp(const T& s, const Info& info) {
  std::string keep;
  auto mode = RoundingMode(info, 1, keep);
  if (!mode) return at::div(s, ToTensorOrScalar(info[0], "other"));
  return at::div(s, ToTensorOrScalar(info[0], "other"), mode);
}
void DivInPlaceOp(T& s, const Info& info) {
  std::string keep;
  auto mode = RoundingMode(info, 1, keep);
  if (!mode) s.div_(ToTensorOrScalar(info[0], "other"));
  else s.div_(ToTensorOrScalar(info[0], "other"), mode);
}
// addcmul_(t1, t2, value) / addcdiv_ (used by hand-written optimizers)
void AddcmulInPlaceOp(T& s, const Info& info) {
  s.addcmul_(ToTensor(info[0], "tensor1"), ToTensor(info[1], "tensor2"), Given(info, 2) ? ToScalar(info[2], "value") : 1);
}
void AddcdivInPlaceOp(T& s, const Info& info) {
  s.addcdiv_(ToTensor(info[0], "tensor1"), ToTensor(info[1], "tensor2"), Given(info, 2) ? ToScalar(info[2], "value") : 1);
}
void LerpInPlaceOp(T& s, const Info& info) { s.lerp_(ToTensor(info[0], "end"), ToScalar(info[1], "weight")); }

T ClampOp(const T& s, const Info& info) {
  c10::optional<at::Scalar> lo, hi;
  if (Given(info, 0)) lo = ToScalar(info[0], "min");
  if (Given(info, 1)) hi = ToScalar(info[1], "max");
  TORCH_CHECK_VALUE(lo || hi, "clamp(): at least one of min and max must be given");
  return at::clamp(s, lo, hi);
}
void ClampInPlaceOp(T& s, const Info& info) {
  c10::optional<at::Scalar> lo, hi;
  if (Given(info, 0)) lo = ToScalar(info[0], "min");
  if (Given(info, 1)) hi = ToScalar(info[1], "max");
  TORCH_CHECK_VALUE(lo || hi, "clamp_(): at least one of min and max must be given");
  at::clamp_(s, lo, hi);
}
void UniformInPlaceOp(T& s, const Info& info) {
  s.uniform_(Given(info, 0) ? ToDouble(info[0], "from") : 0.0, Given(info, 1) ? ToDouble(info[1], "to") : 1.0);
}
void NormalInPlaceOp(T& s, const Info& info) {
  s.normal_(Given(info, 0) ? ToDouble(info[0], "mean") : 0.0, Given(info, 1) ? ToDouble(info[1], "std") : 1.0);
}
void BernoulliInPlaceOp(T& s, const Info& info) { s.bernoulli_(Given(info, 0) ? ToDouble(info[0], "p") : 0.5); }
T BernoulliOp(const T& s, const Info&) { return at::bernoulli(s); }

// Reductions: (dim?: number | number[], keepdim?: boolean, ...)
std::vector<int64_t> Dims(const Info& info, size_t i) { return Given(info, i) ? ToIntList(info[i], "dim") : std::vector<int64_t>{}; }
T SumOp(const T& s, const Info& info) {
  c10::optional<at::ScalarType> dt;
  if (Given(info, 2)) dt = ToDtype(info[2], "dtype");
  if (!Given(info, 0)) return at::sum(s, dt);
  return at::sum(s, Dims(info, 0), ToBool(info[1], false, "keepdim"), dt);
}
T MeanOp(const T& s, const Info& info) {
  if (!Given(info, 0)) return at::mean(s);
  return at::mean(s, Dims(info, 0), ToBool(info[1], false, "keepdim"));
}
T ProdOp(const T& s, const Info& info) {
  if (!Given(info, 0)) return at::prod(s);
  return at::prod(s, ToInt(info[0], "dim"), ToBool(info[1], false, "keepdim"));
}
// std/var(dim?, unbiased = true, keepdim = false)
T StdOp(const T& s, const Info& info) {
  bool unbiased = ToBool(info[1], true, "unbiased");
  if (!Given(info, 0)) return at::std(s, unbiased);
  return at::std(s, at::OptionalIntArrayRef(Dims(info, 0)), unbiased, ToBool(info[2], false, "keepdim"));
}
T VarOp(const T& s, const Info& info) {
  bool unbiased = ToBool(info[1], true, "unbiased");
  if (!Given(info, 0)) return at::var(s, unbiased);
  return at::var(s, at::OptionalIntArrayRef(Dims(info, 0)), unbiased, ToBool(info[2], false, "keepdim"));
}
// norm(p = 2, dim?, keepdim = false)
T NormOp(const T& s, const Info& info) {
  at::Scalar p = Given(info, 0) ? ToScalar(info[0], "p") : at::Scalar(2.0);
  if (!Given(info, 1)) return at::norm(s, p);
  return at::norm(s, p, Dims(info, 1), ToBool(info[2], false, "keepdim"));
}
T LogsumexpOp(const T& s, const Info& info) { return at::logsumexp(s, ToIntList(info[0], "dim"), ToBool(info[1], false, "keepdim")); }
T AmaxOp(const T& s, const Info& info) { return at::amax(s, Dims(info, 0), ToBool(info[1], false, "keepdim")); }
T AminOp(const T& s, const Info& info) { return at::amin(s, Dims(info, 0), ToBool(info[1], false, "keepdim")); }
T ArgmaxOp(const T& s, const Info& info) {
  c10::optional<int64_t> dim;
  if (Given(info, 0)) dim = ToInt(info[0], "dim");
  return at::argmax(s, dim, ToBool(info[1], false, "keepdim"));
}
T ArgminOp(const T& s, const Info& info) {
  c10::optional<int64_t> dim;
  if (Given(info, 0)) dim = ToInt(info[0], "dim");
  return at::argmin(s, dim, ToBool(info[1], false, "keepdim"));
}
T AllOp(const T& s, const Info& info) {
  if (!Given(info, 0)) return at::all(s);
  return at::all(s, ToInt(info[0], "dim"), ToBool(info[1], false, "keepdim"));
}
T AnyOp(const T& s, const Info& info) {
  if (!Given(info, 0)) return at::any(s);
  return at::any(s, ToInt(info[0], "dim"), ToBool(info[1], false, "keepdim"));
}
T CumsumOp(const T& s, const Info& info) { return at::cumsum(s, ToInt(info[0], "dim")); }
T SoftmaxOp(const T& s, const Info& info) { return at::softmax(s, ToInt(info[0], "dim")); }
T LogSoftmaxOp(const T& s, const Info& info) { return at::log_softmax(s, ToInt(info[0], "dim")); }

Napi::Value Pair(const Info& info, const std::tuple<T, T>& r, const char* a, const char* b) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set(a, TensorWrap::Make(info.Env(), std::get<0>(r)));
  out.Set(b, TensorWrap::Make(info.Env(), std::get<1>(r)));
  return out;
}
// max()/min(): a tensor; max(dim, keepdim): { values, indices } like torch.return_types.max
Napi::Value MaxOp(const T& s, const Info& info) {
  if (!Given(info, 0)) return TensorWrap::Make(info.Env(), s.max());
  return Pair(info, at::max(s, ToInt(info[0], "dim"), ToBool(info[1], false, "keepdim")), "values", "indices");
}
Napi::Value MinOp(const T& s, const Info& info) {
  if (!Given(info, 0)) return TensorWrap::Make(info.Env(), s.min());
  return Pair(info, at::min(s, ToInt(info[0], "dim"), ToBool(info[1], false, "keepdim")), "values", "indices");
}
// sort(dim = -1, descending = false), topk(k, dim = -1, largest = true, sorted = true)
Napi::Value SortOp(const T& s, const Info& info) {
  return Pair(info, at::sort(s, Given(info, 0) ? ToInt(info[0], "dim") : -1, ToBool(info[1], false, "descending")), "values", "indices");
}
Napi::Value TopkOp(const T& s, const Info& info) {
  int64_t k = ToInt(info[0], "k"), dim = Given(info, 1) ? ToInt(info[1], "dim") : -1;
  bool largest = ToBool(info[2], true, "largest"), sorted = ToBool(info[3], true, "sorted");
  return Pair(info, IndexChecked([&] { return at::topk(s, k, dim, largest, sorted); }), "values", "indices");
}

// Shapes and views
T ReshapeOp(const T& s, const Info& info) { return s.reshape(ToIntList(info[0], "shape")); }
T ViewOp(const T& s, const Info& info) { return s.view(ToIntList(info[0], "shape")); }
T PermuteOp(const T& s, const Info& info) { return s.permute(ToIntList(info[0], "dims")); }
T TransposeOp(const T& s, const Info& info) { return s.transpose(ToInt(info[0], "dim0"), ToInt(info[1], "dim1")); }
T FlattenOp(const T& s, const Info& info) {
  return s.flatten(Given(info, 0) ? ToInt(info[0], "startDim") : 0, Given(info, 1) ? ToInt(info[1], "endDim") : -1);
}
T SqueezeOp(const T& s, const Info& info) { return Given(info, 0) ? s.squeeze(ToInt(info[0], "dim")) : s.squeeze(); }
T UnsqueezeOp(const T& s, const Info& info) { return s.unsqueeze(ToInt(info[0], "dim")); }
T ExpandOp(const T& s, const Info& info) { return s.expand(ToIntList(info[0], "shape")); }
T RepeatOp(const T& s, const Info& info) { return s.repeat(ToIntList(info[0], "repeats")); }
T FlipOp(const T& s, const Info& info) { return s.flip(ToIntList(info[0], "dims")); }
T SelectOp(const T& s, const Info& info) { return s.select(ToInt(info[0], "dim"), ToInt(info[1], "index")); }
T NarrowOp(const T& s, const Info& info) {
  int64_t dim = ToInt(info[0], "dim"), start = ToInt(info[1], "start"), length = ToInt(info[2], "length");
  return IndexChecked([&] { return s.narrow(dim, start, length); });
}
// slice(dim, start?, end?, step = 1)
T SliceOp(const T& s, const Info& info) {
  c10::optional<int64_t> start, end;
  if (Given(info, 1)) start = ToInt(info[1], "start");
  if (Given(info, 2)) end = ToInt(info[2], "end");
  return s.slice(ToInt(info[0], "dim"), start, end, Given(info, 3) ? ToInt(info[3], "step") : 1);
}
T IndexSelectOp(const T& s, const Info& info) { return s.index_select(ToInt(info[0], "dim"), ToTensor(info[1], "index")); }
T GatherOp(const T& s, const Info& info) {
  int64_t dim = ToInt(info[0], "dim");
  const T& index = ToTensor(info[1], "index");
  return IndexChecked([&] { return s.gather(dim, index); });
}
T ScatterOp(const T& s, const Info& info) {
  int64_t dim = ToInt(info[0], "dim");
  const T& index = ToTensor(info[1], "index");
  if (IsTensor(info[2])) {
    const T& src = ToTensor(info[2], "src");
    return IndexChecked([&] { return s.scatter(dim, index, src); });
  }
  at::Scalar value = ToScalar(info[2], "value");
  return IndexChecked([&] { return s.scatter(dim, index, value); });
}
T MaskedFillOp(const T& s, const Info& info) {
  return s.masked_fill(ToTensor(info[0], "mask"), ToTensorOrScalar(info[1], "value"));
}
void MaskedFillInPlaceOp(T& s, const Info& info) { s.masked_fill_(ToTensor(info[0], "mask"), ToTensorOrScalar(info[1], "value")); }
T MaskedSelectOp(const T& s, const Info& info) { return s.masked_select(ToTensor(info[0], "mask")); }
// where(condition, other): self where condition, else other (torch.Tensor.where)
T WhereOp(const T& s, const Info& info) { return at::where(ToTensor(info[0], "condition"), s, ToTensorOrScalar(info[1], "other")); }
T IndexOp(const T& s, const Info& info) {
  // index(indices: Tensor): advanced indexing on the first dimension (like x[idx] in Python)
  return s.index({ToTensor(info[0], "indices")});
}
// to(device?, dtype?, copy = false, nonBlocking = false)
T ToOp(const T& s, const Info& info) {
  c10::Device device = Given(info, 0) ? ToDevice(info[0], "device") : s.device();
  at::ScalarType dtype = Given(info, 1) ? ToDtype(info[1], "dtype") : s.scalar_type();
  return s.to(device, dtype, ToBool(info[3], false, "nonBlocking"), ToBool(info[2], false, "copy"));
}
Napi::Value SplitOp(const T& s, const Info& info) {
  int64_t dim = Given(info, 1) ? ToInt(info[1], "dim") : 0;
  std::vector<T> parts;
  if (info[0].IsArray()) parts = s.split_with_sizes(ToIntList(info[0], "sizes"), dim);
  else parts = s.split(ToInt(info[0], "size"), dim);
  Napi::Array out = Napi::Array::New(info.Env(), parts.size());
  for (size_t i = 0; i < parts.size(); ++i) out.Set(static_cast<uint32_t>(i), TensorWrap::Make(info.Env(), parts[i]));
  return out;
}
Napi::Value ChunkOp(const T& s, const Info& info) {
  std::vector<T> parts = s.chunk(ToInt(info[0], "chunks"), Given(info, 1) ? ToInt(info[1], "dim") : 0);
  Napi::Array out = Napi::Array::New(info.Env(), parts.size());
  for (size_t i = 0; i < parts.size(); ++i) out.Set(static_cast<uint32_t>(i), TensorWrap::Make(info.Env(), parts[i]));
  return out;
}
Napi::Value SizeOp(const T& s, const Info& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(s.size(ToInt(info[0], "dim"))));
}
Napi::Value StrideOp(const T& s, const Info& info) { return ShapeToArray(info.Env(), s.strides()); }
Napi::Value IsContiguousOp(const T& s, const Info& info) { return Napi::Boolean::New(info.Env(), s.is_contiguous()); }
Napi::Value EqualOp(const T& s, const Info& info) { return Napi::Boolean::New(info.Env(), at::equal(s, ToTensor(info[0], "other"))); }
Napi::Value AllcloseOp(const T& s, const Info& info) {
  return Napi::Boolean::New(info.Env(), at::allclose(s, ToTensor(info[0], "other"), Given(info, 1) ? ToDouble(info[1], "rtol") : 1e-5,
                                                     Given(info, 2) ? ToDouble(info[2], "atol") : 1e-8));
}
Napi::Value DataPtrOp(const T& s, const Info& info) {
  // An identity for the storage, used to tell whether two tensors share memory.
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(s.has_storage() ? s.storage().data() : nullptr)));
}
// The autograd node's name as PyTorch prints it (grad_fn=<MulBackward0>), or undefined for leaves.
Napi::Value GradFnOp(const T& s, const Info& info) {
  const auto& fn = s.grad_fn();
  if (!fn) return info.Env().Undefined();
  std::string name = fn->name();
  auto pos = name.rfind("::");
  if (pos != std::string::npos) name = name.substr(pos + 2);
  return Napi::String::New(info.Env(), name);
}
// The version counter that every in-place change bumps (shared by views of one storage), and the TensorImpl's
// address: together they prove a tensor unchanged since a given moment within a process (feature-cache staleness).
Napi::Value VersionOp(const T& s, const Info& info) { return Napi::Number::New(info.Env(), static_cast<double>(s._version())); }
Napi::Value ImplIdOp(const T& s, const Info& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(s.unsafeGetTensorImpl())));
}
Napi::Value RetainGradOp(const T& s, const Info& info) {
  const_cast<T&>(s).retain_grad();
  return info.This();
}

}  // namespace

// The tensor-tensor forms of add/sub/div (alpha 1, no rounding mode) for the handle table.
static T AddTensorOp(const T& s, const T& o) { return at::add(s, o); }
static T SubTensorOp(const T& s, const T& o) { return at::sub(s, o); }
static T DivTensorOp(const T& s, const T& o) { return at::div(s, o); }
static void AddTensorInPlaceOp(T& s, const T& o) { s.add_(o); }
static void SubTensorInPlaceOp(T& s, const T& o) { s.sub_(o); }
static void DivTensorInPlaceOp(T& s, const T& o) { s.div_(o); }


void AddTensorOps(std::vector<Napi::ClassPropertyDescriptor<TensorWrap>>& props) {
  using W = TensorWrap;
#define TG_REG_UNARY(name, expr) props.push_back(W::InstanceMethod<&W::Unary<&name##Op>>(#name));
  TG_UNARY_OPS(TG_REG_UNARY)
#define TG_REG_UNARY_INPLACE(name, expr) props.push_back(W::InstanceMethod<&W::UnaryInPlace<&name##Op>>(#name));
  TG_UNARY_INPLACE_OPS(TG_REG_UNARY_INPLACE)
#define TG_REG_BINARY(name, expr) props.push_back(W::InstanceMethod<&W::Binary<&name##Op>>(#name));
  TG_BINARY_OPS(TG_REG_BINARY)
#define TG_REG_BINARY_INPLACE(name, expr) props.push_back(W::InstanceMethod<&W::BinaryInPlace<&name##Op>>(#name));
  TG_BINARY_INPLACE_OPS(TG_REG_BINARY_INPLACE)

#define TG_REG_ARGS(js, fn) props.push_back(W::InstanceMethod<&W::WithArgs<&fn>>(js));
  TG_REG_ARGS("add", AddOp) TG_REG_ARGS("sub", SubOp) TG_REG_ARGS("div", DivOp) TG_REG_ARGS("clamp", ClampOp)
  TG_REG_ARGS("bernoulli", BernoulliOp) TG_REG_ARGS("sum", SumOp) TG_REG_ARGS("mean", MeanOp) TG_REG_ARGS("prod", ProdOp)
  TG_REG_ARGS("std", StdOp) TG_REG_ARGS("var", VarOp) TG_REG_ARGS("norm", NormOp) TG_REG_ARGS("logsumexp", LogsumexpOp)
  TG_REG_ARGS("amax", AmaxOp) TG_REG_ARGS("amin", AminOp) TG_REG_ARGS("argmax", ArgmaxOp) TG_REG_ARGS("argmin", ArgminOp)
  TG_REG_ARGS("all", AllOp) TG_REG_ARGS("any", AnyOp) TG_REG_ARGS("cumsum", CumsumOp) TG_REG_ARGS("softmax", SoftmaxOp)
  TG_REG_ARGS("logSoftmax", LogSoftmaxOp) TG_REG_ARGS("reshape", ReshapeOp) TG_REG_ARGS("view", ViewOp)
  TG_REG_ARGS("permute", PermuteOp) TG_REG_ARGS("transpose", TransposeOp) TG_REG_ARGS("flatten", FlattenOp)
  TG_REG_ARGS("squeeze", SqueezeOp) TG_REG_ARGS("unsqueeze", UnsqueezeOp) TG_REG_ARGS("expand", ExpandOp)
  TG_REG_ARGS("repeat", RepeatOp) TG_REG_ARGS("flip", FlipOp) TG_REG_ARGS("select", SelectOp) TG_REG_ARGS("narrow", NarrowOp)
  TG_REG_ARGS("slice", SliceOp) TG_REG_ARGS("indexSelect", IndexSelectOp) TG_REG_ARGS("gather", GatherOp)
  TG_REG_ARGS("scatter", ScatterOp) TG_REG_ARGS("maskedFill", MaskedFillOp) TG_REG_ARGS("maskedSelect", MaskedSelectOp)
  TG_REG_ARGS("where", WhereOp) TG_REG_ARGS("index", IndexOp) TG_REG_ARGS("_to", ToOp)

#define TG_REG_INPLACE_ARGS(js, fn) props.push_back(W::InstanceMethod<&W::InPlaceWithArgs<&fn>>(js));
  TG_REG_INPLACE_ARGS("add_", AddInPlaceOp) TG_REG_INPLACE_ARGS("sub_", SubInPlaceOp) TG_REG_INPLACE_ARGS("div_", DivInPlaceOp)
  TG_REG_INPLACE_ARGS("addcmul_", AddcmulInPlaceOp) TG_REG_INPLACE_ARGS("addcdiv_", AddcdivInPlaceOp)
  TG_REG_INPLACE_ARGS("lerp_", LerpInPlaceOp) TG_REG_INPLACE_ARGS("clamp_", ClampInPlaceOp)
  TG_REG_INPLACE_ARGS("uniform_", UniformInPlaceOp) TG_REG_INPLACE_ARGS("normal_", NormalInPlaceOp)
  TG_REG_INPLACE_ARGS("bernoulli_", BernoulliInPlaceOp) TG_REG_INPLACE_ARGS("maskedFill_", MaskedFillInPlaceOp)

#define TG_REG_CUSTOM(js, fn) props.push_back(W::InstanceMethod<&W::Custom<&fn>>(js));
  TG_REG_CUSTOM("max", MaxOp) TG_REG_CUSTOM("min", MinOp) TG_REG_CUSTOM("sort", SortOp) TG_REG_CUSTOM("topk", TopkOp)
  TG_REG_CUSTOM("split", SplitOp) TG_REG_CUSTOM("chunk", ChunkOp) TG_REG_CUSTOM("size", SizeOp) TG_REG_CUSTOM("stride", StrideOp)
  TG_REG_CUSTOM("isContiguous", IsContiguousOp) TG_REG_CUSTOM("equal", EqualOp) TG_REG_CUSTOM("allclose", AllcloseOp)
  TG_REG_CUSTOM("_storageId", DataPtrOp) TG_REG_CUSTOM("retainGrad", RetainGradOp)
  TG_REG_CUSTOM("_gradFn", GradFnOp) TG_REG_CUSTOM("_version", VersionOp) TG_REG_CUSTOM("_implId", ImplIdOp)
}

void AddFastTensorOps(Napi::Env env, Napi::Object fast, Addon* addon) {
  Napi::Object unary = Napi::Object::New(env), unaryInPlace = Napi::Object::New(env);
  Napi::Object binary = Napi::Object::New(env), binaryInPlace = Napi::Object::New(env);
#define TG_FAST(obj, shape, js, fn) obj.Set(js, Napi::Function::New<&FastOps::shape<&fn>>(env, js, addon));
#define TG_FAST_UNARY(name, expr) TG_FAST(unary, Unary, #name, name##Op)
  TG_UNARY_OPS(TG_FAST_UNARY)
#define TG_FAST_UNARY_INPLACE(name, expr) TG_FAST(unaryInPlace, UnaryInPlace, #name, name##Op)
  TG_UNARY_INPLACE_OPS(TG_FAST_UNARY_INPLACE)
#define TG_FAST_BINARY(name, expr) TG_FAST(binary, Binary, #name, name##Op)
  TG_BINARY_OPS(TG_FAST_BINARY)
#define TG_FAST_BINARY_INPLACE(name, expr) TG_FAST(binaryInPlace, BinaryInPlace, #name, name##Op)
  TG_BINARY_INPLACE_OPS(TG_FAST_BINARY_INPLACE)
  TG_FAST(binary, Binary, "add", AddTensorOp) TG_FAST(binary, Binary, "sub", SubTensorOp) TG_FAST(binary, Binary, "div", DivTensorOp)
  TG_FAST(binaryInPlace, BinaryInPlace, "add_", AddTensorInPlaceOp) TG_FAST(binaryInPlace, BinaryInPlace, "sub_", SubTensorInPlaceOp)
  TG_FAST(binaryInPlace, BinaryInPlace, "div_", DivTensorInPlaceOp)
  Napi::Object scalar = Napi::Object::New(env), scalarInPlace = Napi::Object::New(env);
  // with a number, wrapped as the addon's methods wrap it (FastOps::Number)
  TG_FAST(scalar, BinaryScalar, "add", AddTensorOp) TG_FAST(scalar, BinaryScalar, "sub", SubTensorOp)
  TG_FAST(scalar, BinaryScalar, "mul", mulOp) TG_FAST(scalar, BinaryScalar, "div", DivTensorOp)
  TG_FAST(scalarInPlace, BinaryScalarInPlace, "add_", AddTensorInPlaceOp) TG_FAST(scalarInPlace, BinaryScalarInPlace, "sub_", SubTensorInPlaceOp)
  TG_FAST(scalarInPlace, BinaryScalarInPlace, "mul_", mul_Op) TG_FAST(scalarInPlace, BinaryScalarInPlace, "div_", DivTensorInPlaceOp)
  fast.Set("scalar", scalar);
  fast.Set("scalarInPlace", scalarInPlace);
  fast.Set("unary", unary);
  fast.Set("unaryInPlace", unaryInPlace);
  fast.Set("binary", binary);
  fast.Set("binaryInPlace", binaryInPlace);
}

}  // namespace tg
