// The disk feature cache's reads: spans of a file read into one new CPU tensor on a worker thread, each span's
// CRC-32C checked there (SSE4.2 when the CPU has it), so that training never sees a row the build did not write.
#include "pch.h"
#include <unistd.h>
#include <cstring>
#include "convert.h"
#include "file_io.h"
#include "guard.h"
#include "registry.h"
#include "row_gather.h"
#include "unreported.h"
#include "epoch_allocator.h"
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

// Appending zeros to a CRC is linear in its register: the operators for LONG and SHORT zero bytes, as byte tables, let
// three streams be checksummed at once and joined (the crc32 instruction's latency is 3 cycles, its throughput 1 per
// cycle: one stream leaves it two-thirds idle). After Mark Adler's crc32c.c (zlib licence).
constexpr size_t kLong = 8192;
constexpr size_t kShort = 256;

uint32_t Gf2Times(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec; vec >>= 1, ++mat)
    if (vec & 1) sum ^= *mat;
  return sum;
}
void Gf2Square(uint32_t* square, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) square[n] = Gf2Times(mat, mat[n]);
}
// The operator that appends `len` zero bytes (len a power of two) to a CRC-32C register, as four byte tables.
struct ZerosTable {
  uint32_t t[4][256];
  explicit ZerosTable(size_t len) {
    uint32_t even[32], odd[32];
    odd[0] = 0x82F63B78u;  // one zero bit
    for (int n = 1; n < 32; ++n) odd[n] = 1u << (n - 1);
    Gf2Square(even, odd);  // two zero bits
    Gf2Square(odd, even);  // four
    const uint32_t* op = nullptr;
    for (;;) {  // eight zero bits (one byte) in even, then two bytes in odd, and so on, len halved each time
      Gf2Square(even, odd);
      len >>= 1;
      if (len == 0) {
        op = even;
        break;
      }
      Gf2Square(odd, even);
      len >>= 1;
      if (len == 0) {
        op = odd;
        break;
      }
    }
    for (uint32_t n = 0; n < 256; ++n)
      for (int k = 0; k < 4; ++k) t[k][n] = Gf2Times(op, n << (8 * k));
  }
  uint32_t Shift(uint32_t crc) const { return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24]; }
};
const ZerosTable kLongZeros(kLong);
const ZerosTable kShortZeros(kShort);

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint64_t Crc32cThreeWays(uint64_t c0, const uint8_t*& p, size_t& n, size_t stride, const ZerosTable& zeros) {
  while (n >= 3 * stride) {
    uint64_t c1 = 0, c2 = 0;
    for (const uint8_t* end = p + stride; p < end; p += 8) {
      uint64_t a, b, c;
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + stride, 8);
      std::memcpy(&c, p + 2 * stride, 8);
      c0 = _mm_crc32_u64(c0, a);
      c1 = _mm_crc32_u64(c1, b);
      c2 = _mm_crc32_u64(c2, c);
    }
    c0 = zeros.Shift(static_cast<uint32_t>(c0)) ^ c1;
    c0 = zeros.Shift(static_cast<uint32_t>(c0)) ^ c2;
    p += 2 * stride;
    n -= 3 * stride;
  }
  return c0;
}

__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  c64 = Crc32cThreeWays(c64, p, n, kLong, kLongZeros);
  c64 = Crc32cThreeWays(c64, p, n, kShort, kShortZeros);
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
    // the cache's reader disposes each block itself (see unreported.h)
    deferred_.Resolve(MakeUnreportedTensor(env, std::move(out_)));
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
    // while a fit holds recycled blocks, a cache block's buffer is one a freed block left (no page faults, no munmap)
    RecycleCpuBlocks recycle;
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
    return QueueFileWorker(new ReadBlocksWorker(env, static_cast<int>(fd), std::move(path), std::move(spans), std::move(out)));
  });
}

// gatherRows: batch rows copied out of several row-major tensors (a cache's blocks) and cast, on a worker thread, so
// that a shuffled batch costs the JavaScript thread one call instead of a select, a concatenation and a cast.
class GatherRowsWorker : public Napi::AsyncWorker {
 public:
  GatherRowsWorker(Napi::Env env, RowGather gather, at::Tensor out, at::ScalarType outDtype)
      : Napi::AsyncWorker(env, "torchgraft.cache.gatherRows"),
        deferred_(Napi::Promise::Deferred::New(env)),
        gather_(std::move(gather)),
        out_(std::move(out)),
        outDtype_(outDtype) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      out_ = GatherRowsAs(gather_, std::move(out_), outDtype_);
      gather_.sources.clear();
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
  RowGather gather_;  // holds the sources: the JavaScript side may dispose its handles meanwhile
  at::Tensor out_;    // allocated on the JavaScript thread: a worker thread's malloc arena would keep it after it is freed
  at::ScalarType outDtype_;
};

// gatherRows(sources, which: Int32Array, rows: Int32Array, dtype, rowShape, outDtype): row i of the result is row
// rows[i] of sources[which[i]], its bytes read as `dtype` rows of `rowShape`, then cast to outDtype.
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    RowGather g;
    g.sources = ToTensorList(info[0], "gatherRows: sources");
    auto int32s = [&](size_t k, const char* what) {
      if (!info[k].IsTypedArray() || info[k].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, std::string("gatherRows: ") + what + " must be an Int32Array");
      Napi::Int32Array a = info[k].As<Napi::Int32Array>();
      return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
    };
    g.which = int32s(1, "which");
    std::vector<int32_t> rows32 = int32s(2, "rows");
    g.rows.assign(rows32.begin(), rows32.end());
    g.from = ToDtype(info[3], "gatherRows: dtype");
    g.rowShape = ToIntList(info[4], "gatherRows: rowShape");
    at::ScalarType outDtype = ToDtype(info[5], "gatherRows: outDtype");
    std::string bad = CheckRowGather(g);
    if (!bad.empty()) throw Napi::RangeError::New(env, "gatherRows: " + bad);
    at::Tensor out = EmptyGatherOutput(g, outDtype);
    auto* w = new GatherRowsWorker(env, std::move(g), std::move(out), outDtype);
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
