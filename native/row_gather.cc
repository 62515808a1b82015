// See row_gather.h.
#include "row_gather.h"
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tg {
namespace {

// 16-bit floats widened to float32 while they are copied: at::Tensor::to on a libuv thread took 33 ms for a 4 MiB
// batch of float16 (1 ms on the JavaScript thread), so the common casts are done here by hand.
#if defined(__x86_64__)
__attribute__((target("f16c,avx"))) void HalfToFloatF16c(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = static_cast<float>(c10::Half(src[i], c10::Half::from_bits()));
}
const bool kHasF16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
#endif

void HalfToFloat(const uint16_t* src, float* dst, size_t n) {
#if defined(__x86_64__)
  if (kHasF16c) return HalfToFloatF16c(src, dst, n);
#endif
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(c10::Half(src[i], c10::Half::from_bits()));
}

void BFloat16ToFloat(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits = static_cast<uint32_t>(src[i]) << 16;  // bfloat16 is float32's upper half
    std::memcpy(dst + i, &bits, 4);
  }
}

}  // namespace

bool WidensTo(at::ScalarType from, at::ScalarType outDtype) {
  return outDtype == at::kFloat && (from == at::kHalf || from == at::kBFloat16);
}

std::string CheckRowGather(RowGather& g) {
  if (g.which.size() != g.rows.size()) return "which and rows must have the same length";
  int64_t numel = 1;
  for (int64_t d : g.rowShape) {
    if (d < 0) return "rowShape must not be negative";
    numel *= d;
  }
  g.rowBytes = static_cast<uint64_t>(numel) * c10::elementSize(g.from);
  std::vector<int64_t> count(g.sources.size());
  for (size_t k = 0; k < g.sources.size(); ++k) {
    const at::Tensor& t = g.sources[k];
    if (!t.device().is_cpu() || !t.is_contiguous() || t.dim() < 1) return "every source must be a contiguous CPU tensor of rows";
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    if (g.rowBytes == 0 || bytes != static_cast<uint64_t>(t.size(0)) * g.rowBytes)
      return "source " + std::to_string(k) + "'s rows are not " + std::to_string(g.rowBytes) + " bytes each";
    count[k] = t.size(0);
  }
  for (size_t i = 0; i < g.rows.size(); ++i) {
    if (g.which[i] < 0 || static_cast<size_t>(g.which[i]) >= g.sources.size()) return "which[" + std::to_string(i) + "] names no source";
    if (g.rows[i] < 0 || g.rows[i] >= count[g.which[i]]) return "rows[" + std::to_string(i) + "] is outside its source";
  }
  return "";
}

at::Tensor EmptyGatherOutput(const RowGather& g, at::ScalarType outDtype) {
  std::vector<int64_t> shape{static_cast<int64_t>(g.rows.size())};
  shape.insert(shape.end(), g.rowShape.begin(), g.rowShape.end());
  return at::empty(shape, at::TensorOptions().dtype(WidensTo(g.from, outDtype) ? at::kFloat : g.from));
}

void GatherRowsInto(const RowGather& g, at::Tensor& out) {
  const bool widen = out.scalar_type() != g.from;
  auto* dst = static_cast<uint8_t*>(out.data_ptr());
  const uint64_t outRowBytes = widen ? g.rowBytes * 2 : g.rowBytes;
  for (size_t i = 0; i < g.rows.size(); ++i) {
    const auto* src = static_cast<const uint8_t*>(g.sources[g.which[i]].data_ptr()) + g.rows[i] * g.rowBytes;
    uint8_t* row = dst + i * outRowBytes;
    if (!widen) std::memcpy(row, src, g.rowBytes);
    else if (g.from == at::kHalf) HalfToFloat(reinterpret_cast<const uint16_t*>(src), reinterpret_cast<float*>(row), g.rowBytes / 2);
    else BFloat16ToFloat(reinterpret_cast<const uint16_t*>(src), reinterpret_cast<float*>(row), g.rowBytes / 2);
  }
}

at::Tensor GatherRowsAs(const RowGather& g, at::Tensor out, at::ScalarType outDtype) {
  GatherRowsInto(g, out);
  return out.scalar_type() == outDtype ? out : out.to(outDtype);
}

}  // namespace tg
