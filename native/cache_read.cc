// The disk feature cache's reads: spans of a file read into one new CPU tensor on a worker thread, each span's
// CRC-32C checked there (SSE4.2 when the CPU has it), so that training never sees a row the build did not write.
#include "pch.h"
#include <unistd.h>
#include <cstring>
#include "convert.h"
#include "file_io.h"
#include "guard.h"
#include "registry.h"
#include "tensor.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <nmmintrin.h>
#endif

namespace tg {
namespace {

uint32_t kTable[256];
bool InitTable() {
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;  // Castagnoli, bit-reversed
    kTable[n] = c;
  }
  return true;
}
const bool kTableReady = InitTable();

uint32_t Crc32cSoftware(uint32_t c, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) c = kTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
  }
  uint32_t c32 = static_cast<uint32_t>(c64);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}
const bool kHasSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

// CRC-32C of n bytes, continuing `previous` (0 to start), as lib/io/crc32c.ts computes it.
uint32_t Crc32c(const void* data, size_t n, uint32_t previous) {
  (void)kTableReady;
  uint32_t c = ~previous;
  const auto* p = static_cast<const uint8_t*>(data);
#if defined(__x86_64__)
  if (kHasSse42) return ~Crc32cHardware(c, p, n);
#endif
  return ~Crc32cSoftware(c, p, n);
}

namespace {

struct Span {
  uint64_t offset;
  uint64_t bytes;
  int64_t crc;  // -1: not checked
};

// readBlocks(fd, path, spans, dtype, shape): the spans (offset, bytes, crc triples) read in order into one new tensor.
class ReadBlocksWorker : public FileWorker {
 public:
  ReadBlocksWorker(Napi::Env env, int fd, std::string path, std::vector<Span> spans, at::Tensor out)
      : FileWorker(env, "torchgraft.cache.readBlocks", "feature cache", std::move(path), "ERR_IO"), fd_(fd), spans_(std::move(spans)), out_(std::move(out)) {}

 protected:
  void Run() override {
    auto* dst = static_cast<uint8_t*>(out_.data_ptr());
    for (size_t i = 0; i < spans_.size(); ++i) {
      const Span& s = spans_[i];
      PreadAll(fd_, dst, s.bytes, s.offset, "ERR_CACHE_CORRUPT");
      if (s.crc >= 0) {
        uint32_t got = Crc32c(dst, s.bytes, 0);
        if (got != static_cast<uint32_t>(s.crc)) {
          char msg[160];
          std::snprintf(msg, sizeof msg, "the %llu bytes at offset %llu fail their checksum (CRC-32C %08x, the trailer says %08x): the file is damaged",
                        static_cast<unsigned long long>(s.bytes), static_cast<unsigned long long>(s.offset), got, static_cast<uint32_t>(s.crc));
          FailFile("ERR_CACHE_CORRUPT", msg);
        }
      }
      dst += s.bytes;
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    deferred_.Resolve(TensorWrap::Make(env, std::move(out_)));
  }

 private:
  int fd_;
  std::vector<Span> spans_;
  at::Tensor out_;
};

Napi::Value ReadBlocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    int64_t fd = ToInt(info[0], "readBlocks: fd");
    if (fd < 0 || fd > INT32_MAX) throw Napi::RangeError::New(env, "readBlocks: fd must be an open file descriptor");
    std::string path = PathArg(info[1], "readBlocks");
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw Napi::TypeError::New(env, "readBlocks: spans must be a Float64Array of (offset, bytes, crc) triples");
    Napi::Float64Array raw = info[2].As<Napi::Float64Array>();
    if (raw.ElementLength() % 3 != 0) throw Napi::RangeError::New(env, "readBlocks: spans must hold (offset, bytes, crc) triples");
    at::ScalarType dtype = ToDtype(info[3], "readBlocks: dtype");
    std::vector<int64_t> shape = ToIntList(info[4], "readBlocks: shape");
    std::vector<Span> spans;
    uint64_t total = 0;
    constexpr double kMax = 9007199254740991.0;  // 2^53 - 1: beyond it a double is no longer an exact offset
    for (size_t i = 0; i < raw.ElementLength(); i += 3) {
      double o = raw[i], b = raw[i + 1], c = raw[i + 2];
      if (!(o >= 0 && o <= kMax && o == std::floor(o)) || !(b >= 0 && b <= kMax && b == std::floor(b)))
        throw Napi::RangeError::New(env, "readBlocks: a span's offset and bytes must be non-negative integers");
      if (!(c == -1 || (c >= 0 && c <= 4294967295.0 && c == std::floor(c)))) throw Napi::RangeError::New(env, "readBlocks: a span's crc must be a u32 or -1");
      spans.push_back({static_cast<uint64_t>(o), static_cast<uint64_t>(b), static_cast<int64_t>(c)});
      total += static_cast<uint64_t>(b);
    }
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d < 0) throw Napi::RangeError::New(env, "readBlocks: shape must not be negative");
      numel *= d;
    }
    const uint64_t want = static_cast<uint64_t>(numel) * c10::elementSize(dtype);
    if (want != total)
      throw Napi::RangeError::New(env, "readBlocks: the spans hold " + std::to_string(total) + " bytes, the shape needs " + std::to_string(want));
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
    return QueueFileWorker(new ReadBlocksWorker(env, static_cast<int>(fd), std::move(path), std::move(spans), std::move(out)));
  });
}

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

// gatherRows: batch rows copied out of several row-major tensors (a cache's blocks) and cast, on a worker thread, so
// that a shuffled batch costs the JavaScript thread one call instead of a select, a concatenation and a cast.
class GatherRowsWorker : public Napi::AsyncWorker {
 public:
  GatherRowsWorker(Napi::Env env, std::vector<at::Tensor> sources, std::vector<int32_t> which, std::vector<int64_t> rows, uint64_t rowBytes,
                   at::ScalarType from, at::Tensor out, at::ScalarType outDtype)
      : Napi::AsyncWorker(env, "torchgraft.cache.gatherRows"),
        deferred_(Napi::Promise::Deferred::New(env)),
        sources_(std::move(sources)),
        which_(std::move(which)),
        rows_(std::move(rows)),
        rowBytes_(rowBytes),
        from_(from),
        out_(std::move(out)),
        outDtype_(outDtype) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      const at::ScalarType from = from_;
      const bool widen = out_.scalar_type() != from;  // float16/bfloat16 rows into a float32 result
      auto* dst = static_cast<uint8_t*>(out_.data_ptr());
      const uint64_t outRowBytes = widen ? rowBytes_ * 2 : rowBytes_;
      for (size_t i = 0; i < rows_.size(); ++i) {
        const auto* src = static_cast<const uint8_t*>(sources_[which_[i]].data_ptr()) + rows_[i] * rowBytes_;
        uint8_t* row = dst + i * outRowBytes;
        if (!widen) std::memcpy(row, src, rowBytes_);
        else if (from == at::kHalf) HalfToFloat(reinterpret_cast<const uint16_t*>(src), reinterpret_cast<float*>(row), rowBytes_ / 2);
        else BFloat16ToFloat(reinterpret_cast<const uint16_t*>(src), reinterpret_cast<float*>(row), rowBytes_ / 2);
      }
      if (out_.scalar_type() != outDtype_) out_ = out_.to(outDtype_);
      sources_.clear();
    } catch (const c10::Error& e) {
      SetError(TrimBacktrace(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    deferred_.Resolve(TensorWrap::Make(Env(), std::move(out_)));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(TorchErrorValue(Env(), "gatherRows: " + e.Message())); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<at::Tensor> sources_;  // held here: the JavaScript side may dispose its handles meanwhile
  std::vector<int32_t> which_;
  std::vector<int64_t> rows_;
  uint64_t rowBytes_;
  at::ScalarType from_;
  at::Tensor out_;  // allocated on the JavaScript thread: a worker thread's malloc arena would keep it after it is freed
  at::ScalarType outDtype_;
};

// gatherRows(sources, which: Int32Array, rows: Int32Array, dtype, rowShape, outDtype): row i of the result is row
// rows[i] of sources[which[i]], its bytes read as `dtype` rows of `rowShape`, then cast to outDtype.
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    std::vector<at::Tensor> sources = ToTensorList(info[0], "gatherRows: sources");
    auto int32s = [&](size_t k, const char* what) {
      if (!info[k].IsTypedArray() || info[k].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, std::string("gatherRows: ") + what + " must be an Int32Array");
      Napi::Int32Array a = info[k].As<Napi::Int32Array>();
      return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
    };
    std::vector<int32_t> which = int32s(1, "which");
    std::vector<int32_t> rows32 = int32s(2, "rows");
    if (which.size() != rows32.size()) throw Napi::RangeError::New(env, "gatherRows: which and rows must have the same length");
    at::ScalarType dtype = ToDtype(info[3], "gatherRows: dtype");
    std::vector<int64_t> shape = ToIntList(info[4], "gatherRows: rowShape");
    at::ScalarType outDtype = ToDtype(info[5], "gatherRows: outDtype");
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d < 0) throw Napi::RangeError::New(env, "gatherRows: rowShape must not be negative");
      numel *= d;
    }
    const uint64_t rowBytes = static_cast<uint64_t>(numel) * c10::elementSize(dtype);
    std::vector<int64_t> count(sources.size());
    for (size_t k = 0; k < sources.size(); ++k) {
      const at::Tensor& t = sources[k];
      if (!t.device().is_cpu() || !t.is_contiguous() || t.dim() < 1)
        throw Napi::TypeError::New(env, "gatherRows: every source must be a contiguous CPU tensor of rows");
      const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
      if (rowBytes == 0 || bytes != static_cast<uint64_t>(t.size(0)) * rowBytes)
        throw Napi::RangeError::New(env, "gatherRows: source " + std::to_string(k) + "'s rows are not " + std::to_string(rowBytes) + " bytes each");
      count[k] = t.size(0);
    }
    std::vector<int64_t> rows(rows32.size());
    for (size_t i = 0; i < rows32.size(); ++i) {
      if (which[i] < 0 || static_cast<size_t>(which[i]) >= sources.size()) throw Napi::RangeError::New(env, "gatherRows: which[" + std::to_string(i) + "] names no source");
      if (rows32[i] < 0 || rows32[i] >= count[which[i]]) throw Napi::RangeError::New(env, "gatherRows: rows[" + std::to_string(i) + "] is outside its source");
      rows[i] = rows32[i];
    }
    std::vector<int64_t> outShape{static_cast<int64_t>(rows.size())};
    outShape.insert(outShape.end(), shape.begin(), shape.end());
    const bool widen = outDtype == at::kFloat && (dtype == at::kHalf || dtype == at::kBFloat16);
    at::Tensor out = at::empty(outShape, at::TensorOptions().dtype(widen ? at::kFloat : dtype));
    auto* w = new GatherRowsWorker(env, std::move(sources), std::move(which), std::move(rows), rowBytes, dtype, std::move(out), outDtype);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  });
}

// crc32c(bytes, previous = 0): the same checksum natively, for tests and writers.
Napi::Value Crc32cJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "crc32c: expected a Uint8Array");
  Napi::TypedArray a = info[0].As<Napi::TypedArray>();
  uint32_t prev = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  const auto* p = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return Napi::Number::New(env, Crc32c(p, a.ByteLength(), prev));
}

}  // namespace

void RegisterCacheRead(Napi::Env env, Napi::Object exports) {
  exports.Set("readBlocks", Napi::Function::New<ReadBlocks>(env, "readBlocks"));
  exports.Set("crc32c", Napi::Function::New<Crc32cJs>(env, "crc32c"));
  exports.Set("gatherRows", Napi::Function::New<GatherRows>(env, "gatherRows"));
}

}  // namespace tg
