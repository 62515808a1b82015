// safetensors reading and writing: a strict JSON parser for the header, validation against the file size before any
// allocation, pread into tensors, and atomic writes (temp file, fsync, rename, fsync of the directory).
#include "safetensors.h"
#include "registry.h"
#include "tensor.h"
#include "guard.h"
#include "convert.h"
#include "addon.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tg {
namespace {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "safetensors stores little-endian data; torchgraft's reader and writer assume a little-endian host"
#endif

#define TG_TORCH_AT_LEAST(maj, min) \
  (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

constexpr uint64_t kMaxHeaderBytes = 100000000;  // the reference implementation's bound
constexpr size_t kMaxJsonDepth = 64;              // deep nesting is never needed and would risk the stack
constexpr size_t kMaxDims = 64;

// An error with a stable code, raised on the worker thread and turned into a TorchError on the JS thread.
struct FileError : std::runtime_error {
  std::string code;
  FileError(std::string c, const std::string& msg) : std::runtime_error(msg), code(std::move(c)) {}
};

[[noreturn]] void Fail(const char* code, const std::string& path, const std::string& problem) {
  throw FileError(code, "safetensors: '" + path + "': " + problem);
}

[[noreturn]] void FailErrno(const std::string& path, const std::string& what, int err) {
  throw FileError("ERR_IO", "safetensors: '" + path + "': " + what + ": " + std::strerror(err));
}

// Quotes a name for a message, cut short so a hostile header cannot make a megabyte-long error.
std::string Q(const std::string& s) {
  std::string out = s.size() > 200 ? s.substr(0, 200) + "..." : s;
  return "'" + out + "'";
}

// ---------------------------------------------------------------------------------------------------------------
// JSON (RFC 8259), strict: UTF-8 validated, no trailing commas, no comments, bounded depth. It is a scanner driven
// by the header's schema: only what the header needs is stored, anything else is checked and skipped, so memory
// stays proportional to the tensors described, never to what a hostile header repeats (a 100 MB `[0,0,...]`).

// A number token: its text, and its value when written as a non-negative integer that fits in uint64.
struct Num {
  std::string text;
  bool isUint = false;
  uint64_t u = 0;
};

class JsonScanner {
 public:
  JsonScanner(const char* begin, const char* end, const std::string& path) : b_(begin), p_(begin), e_(end), path_(path) {}

  [[noreturn]] void Error(const std::string& what) {
    Fail("ERR_SAFETENSORS_HEADER", path_, "header is not valid JSON: " + what + " at header byte " + std::to_string(p_ - b_));
  }
  void SkipWs() {
    while (p_ < e_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool AtEnd() {
    SkipWs();
    return p_ == e_;
  }
  // The kind of the value that starts here, for messages ("a number", "an array", ...).
  const char* PeekKind() {
    SkipWs();
    if (p_ >= e_) Error("unexpected end");
    switch (*p_) {
      case '{': return "an object";
      case '[': return "an array";
      case '"': return "a string";
      case 't': case 'f': return "a boolean";
      case 'n': return "null";
      default: return "a number";
    }
  }
  bool Peek(char c) {
    SkipWs();
    return p_ < e_ && *p_ == c;
  }
  void Expect(char c) {
    SkipWs();
    if (p_ >= e_ || *p_ != c) Error(std::string("expected '") + c + "'");
    ++p_;
  }

  // Iterates an object's members: calls member(key) with the scanner at the value, which member must consume.
  template <typename F>
  void Object(size_t depth, F&& member) {
    if (depth > kMaxJsonDepth) Error("nesting deeper than " + std::to_string(kMaxJsonDepth));
    Expect('{');
    if (Peek('}')) { ++p_; return; }
    for (;;) {
      SkipWs();
      if (p_ >= e_ || *p_ != '"') Error("expected a string key");
      std::string key = String();
      Expect(':');
      member(key);
      if (Peek(',')) { ++p_; continue; }
      Expect('}');
      return;
    }
  }
  // Iterates an array's items: calls item(index) with the scanner at the value, which item must consume.
  template <typename F>
  void Array(size_t depth, F&& item) {
    if (depth > kMaxJsonDepth) Error("nesting deeper than " + std::to_string(kMaxJsonDepth));
    Expect('[');
    if (Peek(']')) { ++p_; return; }
    for (size_t i = 0;; ++i) {
      item(i);
      if (Peek(',')) { ++p_; continue; }
      Expect(']');
      return;
    }
  }

  // Checks one value of any kind and stores nothing.
  void Skip(size_t depth) {
    PeekKind();  // skips whitespace, fails at the end of input
    if (*p_ == '{') return Object(depth, [&](const std::string&) { Skip(depth + 1); });
    if (*p_ == '[') return Array(depth, [&](size_t) { Skip(depth + 1); });
    if (*p_ == '"') { String(); return; }
    if (Literal("true") || Literal("false") || Literal("null")) return;
    Number();
  }

  Num Number() {
    SkipWs();
    Num v;
    const char* start = p_;
    bool negative = false, integral = true;
    if (p_ < e_ && *p_ == '-') { negative = true; ++p_; }
    if (p_ >= e_ || !(*p_ >= '0' && *p_ <= '9')) Error("unexpected character");
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < e_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    const char* intEnd = p_;
    if (p_ < e_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ >= e_ || !(*p_ >= '0' && *p_ <= '9')) Error("bad number");
      while (p_ < e_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < e_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ < e_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= e_ || !(*p_ >= '0' && *p_ <= '9')) Error("bad number");
      while (p_ < e_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    // Keep a bounded copy of the text: it only serves messages.
    v.text.assign(start, std::min<size_t>(static_cast<size_t>(p_ - start), 40));
    if (!negative && integral) {
      uint64_t u = 0;
      bool fits = true;
      for (const char* q = start; q < intEnd && fits; ++q)
        fits = !__builtin_mul_overflow(u, uint64_t{10}, &u) && !__builtin_add_overflow(u, static_cast<uint64_t>(*q - '0'), &u);
      v.isUint = fits;
      v.u = fits ? u : 0;
    }
    return v;
  }

  std::string String() {
    SkipWs();
    if (p_ >= e_ || *p_ != '"') Error("expected a string");
    ++p_;
    std::string out;
    for (;;) {
      if (p_ >= e_) Error("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') { ++p_; return out; }
      if (c < 0x20) Error("control character in a string");
      if (c == '\\') {
        ++p_;
        if (p_ >= e_) Error("unterminated escape");
        char esc = *p_++;
        switch (esc) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            uint32_t cp = Hex4();
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (e_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') Error("unpaired surrogate in \\u escape");
              p_ += 2;
              uint32_t lo = Hex4();
              if (lo < 0xDC00 || lo > 0xDFFF) Error("unpaired surrogate in \\u escape");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              Error("unpaired surrogate in \\u escape");
            }
            AppendUtf8(out, cp);
            break;
          }
          default: Error("bad escape");
        }
        continue;
      }
      if (c < 0x80) { out += static_cast<char>(c); ++p_; continue; }
      // A multi-byte UTF-8 sequence: shortest form, no surrogates, at most U+10FFFF.
      int len = 0;
      uint32_t cp = 0;
      if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
      else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
      else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
      else BadUtf8(0);
      if (e_ - p_ < len) BadUtf8(0);
      for (int i = 1; i < len; ++i) {
        unsigned char cc = static_cast<unsigned char>(p_[i]);
        if ((cc & 0xC0) != 0x80) BadUtf8(i);
        cp = (cp << 6) | (cc & 0x3F);
      }
      if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) BadUtf8(0);
      out.append(p_, static_cast<size_t>(len));
      p_ += len;
    }
  }

 private:
  [[noreturn]] void BadUtf8(int at) {
    Fail("ERR_SAFETENSORS_HEADER", path_, "header is not valid UTF-8 at header byte " + std::to_string(p_ - b_ + at));
  }
  bool Literal(const char* word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(e_ - p_) >= n && std::memcmp(p_, word, n) == 0) {
      p_ += n;
      return true;
    }
    return false;
  }
  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  uint32_t Hex4() {
    if (e_ - p_ < 4) Error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      char c = *p_;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else Error("bad \\u escape");
    }
    return v;
  }

  const char* b_;
  const char* p_;
  const char* e_;
  const std::string& path_;
};

void AppendJsonString(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// ---------------------------------------------------------------------------------------------------------------
// dtypes

struct DtypeInfo {
  const char* name;      // as the file names it
  size_t itemsize;       // bytes per element in the file
  bool supported;        // this LibTorch can read it
  at::ScalarType stored; // type of the bytes as read
  at::ScalarType result; // type handed to JavaScript
  const char* why;       // for unsupported ones
};

const DtypeInfo* FindDtype(const std::string& name) {
  static const DtypeInfo table[] = {
      {"F64", 8, true, at::kDouble, at::kDouble, nullptr},
      {"F32", 4, true, at::kFloat, at::kFloat, nullptr},
      {"F16", 2, true, at::kHalf, at::kHalf, nullptr},
      {"BF16", 2, true, at::kBFloat16, at::kBFloat16, nullptr},
      {"I64", 8, true, at::kLong, at::kLong, nullptr},
      {"I32", 4, true, at::kInt, at::kInt, nullptr},
      {"I16", 2, true, at::kShort, at::kShort, nullptr},
      {"I8", 1, true, at::kChar, at::kChar, nullptr},
      {"U8", 1, true, at::kByte, at::kByte, nullptr},
      {"BOOL", 1, true, at::kBool, at::kBool, nullptr},
      // Unsigned wider types: torchgraft has no such dtypes, so they widen losslessly (bits read as signed, then masked).
      {"U16", 2, true, at::kShort, at::kInt, nullptr},
      {"U32", 4, true, at::kInt, at::kLong, nullptr},
      {"U64", 8, false, at::kLong, at::kLong, "U64 values may not fit in int64, torchgraft's widest integer type"},
#if TG_TORCH_AT_LEAST(2, 1)
      {"F8_E4M3", 1, true, at::ScalarType::Float8_e4m3fn, at::kFloat, nullptr},
      {"F8_E5M2", 1, true, at::ScalarType::Float8_e5m2, at::kFloat, nullptr},
#else
      {"F8_E4M3", 1, false, at::kByte, at::kByte, "8-bit floats need LibTorch 2.1 or later"},
      {"F8_E5M2", 1, false, at::kByte, at::kByte, "8-bit floats need LibTorch 2.1 or later"},
#endif
  };
  for (const auto& d : table)
    if (name == d.name) return &d;
  return nullptr;
}

// The file's name for a tensor dtype torchgraft writes, or nullptr.
const char* FileDtypeName(at::ScalarType t) {
  switch (t) {
    case at::kDouble: return "F64";
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: return nullptr;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// File helpers

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Close() {
    int rc = 0;
    if (fd_ >= 0) rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_ = -1;
};

// Reads exactly n bytes at offset, or fails naming a truncation (the file may shrink while we read).
void PreadAll(int fd, void* dst, uint64_t n, uint64_t offset, const std::string& path) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1u << 30));
    ssize_t r = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      FailErrno(path, "read failed", errno);
    }
    if (r == 0) Fail("ERR_SAFETENSORS_TRUNCATED", path, "the file ended while reading (was it truncated meanwhile?)");
    p += r;
    n -= static_cast<uint64_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

void WriteAll(int fd, const void* src, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(src);
  while (n > 0) {
    ssize_t w = ::write(fd, p, std::min<size_t>(n, 1u << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      FailErrno(path, "write failed", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Header validation

struct Entry {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
  size_t order = 0;  // position in the header, to break ties between empty tensors
};

struct Header {
  std::vector<Entry> entries;  // sorted by data offset
  std::vector<std::pair<std::string, std::string>> metadata;
  uint64_t headerBytes = 0;
  uint64_t dataStart = 0;
  uint64_t fileBytes = 0;
};

std::string ShapeText(const std::vector<int64_t>& s) { return "[" + c10::Join(", ", s) + "]"; }

Header ReadHeader(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) FailErrno(path, "stat failed", errno);
  if (!S_ISREG(st.st_mode)) Fail("ERR_IO", path, "not a regular file");
  Header h;
  h.fileBytes = static_cast<uint64_t>(st.st_size);
  if (h.fileBytes < 8)
    Fail("ERR_SAFETENSORS_TRUNCATED", path, "the file is " + std::to_string(h.fileBytes) +
                                                " bytes long, shorter than the 8-byte header length that starts the format");
  unsigned char lenBytes[8];
  PreadAll(fd, lenBytes, 8, 0, path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | lenBytes[i];
  if (n > kMaxHeaderBytes)
    Fail("ERR_SAFETENSORS_HEADER", path, "declared header length " + std::to_string(n) + " exceeds the limit of " +
                                             std::to_string(kMaxHeaderBytes) + " bytes");
  if (n > h.fileBytes - 8)
    Fail("ERR_SAFETENSORS_TRUNCATED", path, "declared header length " + std::to_string(n) + " but only " +
                                                std::to_string(h.fileBytes - 8) + " bytes follow the length field");
  if (n < 2) Fail("ERR_SAFETENSORS_HEADER", path, "declared header length " + std::to_string(n) + " is too short for a JSON object");
  h.headerBytes = n;
  h.dataStart = 8 + n;
  std::string text(static_cast<size_t>(n), '\0');
  PreadAll(fd, &text[0], n, 8, path);
  if (text[0] != '{') Fail("ERR_SAFETENSORS_HEADER", path, "header does not start with '{'");

  JsonScanner js(text.data(), text.data() + text.size(), path);
  std::unordered_set<std::string> seen;
  size_t order = 0;
  js.Object(0, [&](const std::string& name) {
    if (!seen.insert(name).second) Fail("ERR_SAFETENSORS_HEADER", path, "duplicate tensor name " + Q(name));
    if (name == "__metadata__") {
      const char* kind = js.PeekKind();
      if (!js.Peek('{')) Fail("ERR_SAFETENSORS_HEADER", path, std::string("__metadata__ must be an object of strings, got ") + kind);
      std::unordered_set<std::string> keys;
      js.Object(1, [&](const std::string& key) {
        const char* k = js.PeekKind();
        if (!js.Peek('"'))
          Fail("ERR_SAFETENSORS_HEADER", path, "__metadata__ must map strings to strings; key " + Q(key) + " holds " + k);
        if (!keys.insert(key).second) Fail("ERR_SAFETENSORS_HEADER", path, "duplicate __metadata__ key " + Q(key));
        h.metadata.emplace_back(key, js.String());
      });
      return;
    }
    const std::string what = "tensor " + Q(name);
    const char* kind = js.PeekKind();
    if (!js.Peek('{')) Fail("ERR_SAFETENSORS_HEADER", path, what + " is " + kind + ", not an object");
    bool haveDtype = false, haveShape = false, haveOffsets = false;
    std::string dtypeName;
    std::vector<Num> shape, offsets;
    js.Object(1, [&](const std::string& field) {
      if (field == "dtype") {
        if (haveDtype) Fail("ERR_SAFETENSORS_HEADER", path, what + " has 'dtype' twice");
        haveDtype = true;
        if (!js.Peek('"')) Fail("ERR_SAFETENSORS_HEADER", path, what + ": 'dtype' is " + js.PeekKind() + ", not a string");
        dtypeName = js.String();
      } else if (field == "shape" || field == "data_offsets") {
        const bool isShape = field == "shape";
        bool& have = isShape ? haveShape : haveOffsets;
        std::vector<Num>& out = isShape ? shape : offsets;
        if (have) Fail("ERR_SAFETENSORS_HEADER", path, what + " has '" + field + "' twice");
        have = true;
        if (!js.Peek('[')) Fail("ERR_SAFETENSORS_HEADER", path, what + ": '" + field + "' is " + js.PeekKind() + ", not an array");
        js.Array(2, [&](size_t i) {
          if (isShape && i >= kMaxDims)
            Fail("ERR_SAFETENSORS_HEADER", path, what + " has more than " + std::to_string(kMaxDims) + " dimensions");
          if (!isShape && i >= 2) Fail("ERR_SAFETENSORS_HEADER", path, what + ": 'data_offsets' must hold exactly two integers");
          const char* k = js.PeekKind();
          if (std::strcmp(k, "a number") != 0)
            Fail("ERR_SAFETENSORS_HEADER", path, what + ": '" + field + "' entries must be non-negative integers, got " + k);
          out.push_back(js.Number());
        });
      } else {
        js.Skip(2);  // unknown fields are ignored, as the reference implementation does
      }
    });
    if (!haveDtype) Fail("ERR_SAFETENSORS_HEADER", path, what + ": 'dtype' is missing");
    if (!haveShape) Fail("ERR_SAFETENSORS_HEADER", path, what + ": 'shape' is missing");
    if (!haveOffsets || offsets.size() != 2)
      Fail("ERR_SAFETENSORS_HEADER", path, what + ": 'data_offsets' is missing or not an array of two integers");

    Entry e;
    e.name = name;
    e.order = order++;
    e.dtype = FindDtype(dtypeName);
    if (!e.dtype)
      Fail("ERR_SAFETENSORS_DTYPE", path, what + " has unknown dtype " + Q(dtypeName) +
                                              " (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U16, U32, U64, F8_E4M3, F8_E5M2)");
    if (!e.dtype->supported)
      Fail("ERR_SAFETENSORS_DTYPE", path, what + " has dtype " + std::string(e.dtype->name) + ", which is not supported: " + e.dtype->why);

    // Every dimension must be an int64; the product of the non-zero ones must fit too, so strides cannot overflow.
    uint64_t product = 1;
    bool anyZero = false;
    for (const Num& d : shape) {
      if (!d.isUint || d.u > static_cast<uint64_t>(INT64_MAX))
        Fail("ERR_SAFETENSORS_HEADER", path, what + ": shape entries must be non-negative integers (int64), got " + d.text);
      if (d.u == 0) anyZero = true;
      if (__builtin_mul_overflow(product, std::max<uint64_t>(d.u, 1), &product) || product > static_cast<uint64_t>(INT64_MAX))
        Fail("ERR_SAFETENSORS_HEADER", path, what + ": shape has more elements than int64 can count");
      e.shape.push_back(static_cast<int64_t>(d.u));
    }
    uint64_t numel = anyZero ? 0 : product;
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(e.dtype->itemsize), &nbytes))
      Fail("ERR_SAFETENSORS_HEADER", path, what + ": shape " + ShapeText(e.shape) + " needs more bytes than a file can hold");
    for (const Num& o : offsets)
      if (!o.isUint) Fail("ERR_SAFETENSORS_HEADER", path, what + ": data_offsets must be non-negative integers, got " + o.text);
    e.begin = offsets[0].u;
    e.end = offsets[1].u;
    std::string span = "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.end < e.begin) Fail("ERR_SAFETENSORS_OFFSETS", path, what + ": " + span + " are reversed");
    if (e.end - e.begin != nbytes)
      Fail("ERR_SAFETENSORS_OFFSETS", path, what + ": " + e.dtype->name + " " + ShapeText(e.shape) + " needs " +
                                                std::to_string(nbytes) + " bytes but " + span + " span " +
                                                std::to_string(e.end - e.begin));
    h.entries.push_back(std::move(e));
  });
  if (!js.AtEnd()) js.Error("unexpected data after the JSON object");

  // The buffer must be tiled exactly: sorted by offset, each tensor starts where the previous one ended.
  std::sort(h.entries.begin(), h.entries.end(), [](const Entry& a, const Entry& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.order < b.order;
  });
  const uint64_t dataBytes = h.fileBytes - h.dataStart;
  uint64_t expected = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : h.entries) {
    std::string span = "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.begin < expected)
      Fail("ERR_SAFETENSORS_OFFSETS", path, "tensor " + Q(e.name) + " (" + span + ") overlaps tensor " + Q(prev->name));
    if (e.begin > expected)
      Fail("ERR_SAFETENSORS_OFFSETS", path, "gap of " + std::to_string(e.begin - expected) + " bytes before tensor " + Q(e.name) +
                                                " (" + span + "): offsets must be contiguous from 0");
    if (e.end > dataBytes)
      Fail("ERR_SAFETENSORS_TRUNCATED", path, "tensor " + Q(e.name) + " (" + span + ") ends past the end of the file: the data buffer holds " +
                                                  std::to_string(dataBytes) + " bytes");
    expected = e.end;
    prev = &e;
  }
  if (expected != dataBytes)
    Fail("ERR_SAFETENSORS_OFFSETS", path, std::to_string(dataBytes - expected) +
                                              " bytes after the last tensor are not described by the header");
  return h;
}

Fd OpenForRead(const std::string& path) {
  int fd;
  do {
    // O_NONBLOCK: opening a FIFO must not park a worker thread forever; fstat then refuses anything but a file.
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) FailErrno(path, "cannot open", errno);
  return Fd(fd);
}

// Allocates (only after validation) and reads one tensor.
at::Tensor ReadTensor(int fd, const Header& h, const Entry& e, const std::string& path) {
  at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype->stored));
  uint64_t n = e.end - e.begin;
  if (n) PreadAll(fd, t.data_ptr(), n, h.dataStart + e.begin, path);
  if (e.dtype->stored == at::kBool && n) {
    // A bool byte other than 0 or 1 is not a value PyTorch can hold; refuse it rather than pass on undefined behaviour.
    const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
    for (uint64_t i = 0; i < n; ++i)
      if (bytes[i] > 1)
        Fail("ERR_SAFETENSORS_DATA", path, "BOOL tensor " + Q(e.name) + " holds the byte " + std::to_string(bytes[i]) +
                                               " at element " + std::to_string(i) + " (only 0 and 1 are booleans)");
  }
  if (e.dtype->stored == e.dtype->result) return t;
  if (std::strcmp(e.dtype->name, "U16") == 0) return t.to(at::kInt).bitwise_and(0xFFFF);
  if (std::strcmp(e.dtype->name, "U32") == 0) return t.to(at::kLong).bitwise_and(int64_t{0xFFFFFFFF});
  return t.to(e.dtype->result);
}

// ---------------------------------------------------------------------------------------------------------------
// Workers

// Rejects the promise with a TorchError carrying the code and the path.
void RejectWith(Napi::Env env, Napi::Promise::Deferred& deferred, const std::string& message, const std::string& code,
                const std::string& path) {
  Addon* addon = env.GetInstanceData<Addon>();
  Napi::Object err = addon && !addon->torchErrorCtor.IsEmpty()
                         ? addon->torchErrorCtor.New({Napi::String::New(env, message)})
                         : Napi::Error::New(env, message).Value();
  if (!code.empty()) err.Set("code", Napi::String::New(env, code));
  err.Set("path", Napi::String::New(env, path));
  deferred.Reject(err);
}

class FileWorker : public Napi::AsyncWorker {
 public:
  FileWorker(Napi::Env env, const char* name, std::string path)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() final {
    try {
      Run();
    } catch (const FileError& e) {
      code_ = e.code;
      SetError(e.what());
    } catch (const c10::Error& e) {
      code_ = "ERR_SAFETENSORS";
      SetError("safetensors: '" + path_ + "': " + e.what_without_backtrace());
    } catch (const std::bad_alloc&) {
      code_ = "ERR_OUT_OF_MEMORY";
      SetError("safetensors: '" + path_ + "': out of memory");
    } catch (const std::exception& e) {
      code_ = "ERR_SAFETENSORS";
      SetError("safetensors: '" + path_ + "': " + e.what());
    }
  }
  void OnError(const Napi::Error& e) final {
    Napi::HandleScope scope(Env());
    RejectWith(Env(), deferred_, e.Message(), code_, path_);
  }

 protected:
  virtual void Run() = 0;
  Napi::Promise::Deferred deferred_;
  std::string path_;
  std::string code_;
};

class LoadWorker : public FileWorker {
 public:
  LoadWorker(Napi::Env env, std::string path) : FileWorker(env, "torchgraft.safetensors.load", std::move(path)) {}

 protected:
  void Run() override {
    Fd fd = OpenForRead(path_);
    header_ = ReadHeader(fd.get(), path_);
    tensors_.reserve(header_.entries.size());
    for (const Entry& e : header_.entries) tensors_.push_back(ReadTensor(fd.get(), header_, e, path_));
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      Napi::Array list = Napi::Array::New(env, tensors_.size());
      for (size_t i = 0; i < tensors_.size(); ++i) {
        Napi::Array pair = Napi::Array::New(env, 2);
        pair.Set(uint32_t{0}, Napi::String::New(env, header_.entries[i].name));
        pair.Set(uint32_t{1}, TensorWrap::Make(env, std::move(tensors_[i])));
        list.Set(static_cast<uint32_t>(i), pair);
      }
      Napi::Object out = Napi::Object::New(env);
      out.Set("tensors", list);
      out.Set("metadata", MetadataObject(env, header_.metadata));
      deferred_.Resolve(out);
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 public:
  static Napi::Object MetadataObject(Napi::Env env, const std::vector<std::pair<std::string, std::string>>& md) {
    Napi::Object o = Napi::Object::New(env);
    // defineProperty semantics, so a key such as "__proto__" is an own property and not a prototype change.
    for (const auto& kv : md)
      o.DefineProperty(Napi::PropertyDescriptor::Value(Napi::String::New(env, kv.first), Napi::String::New(env, kv.second),
                                                       napi_default_jsproperty));
    return o;
  }

 private:
  Header header_;
  std::vector<at::Tensor> tensors_;
};

class InspectWorker : public FileWorker {
 public:
  InspectWorker(Napi::Env env, std::string path) : FileWorker(env, "torchgraft.safetensors.inspect", std::move(path)) {}

 protected:
  void Run() override {
    Fd fd = OpenForRead(path_);
    header_ = ReadHeader(fd.get(), path_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Array list = Napi::Array::New(env, header_.entries.size());
    for (size_t i = 0; i < header_.entries.size(); ++i) {
      const Entry& e = header_.entries[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", e.name);
      o.Set("dtype", e.dtype->name);
      o.Set("shape", ShapeToArray(env, e.shape));
      o.Set("begin", Napi::Number::New(env, static_cast<double>(e.begin)));
      o.Set("end", Napi::Number::New(env, static_cast<double>(e.end)));
      list.Set(static_cast<uint32_t>(i), o);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("entries", list);
    out.Set("metadata", LoadWorker::MetadataObject(env, header_.metadata));
    out.Set("headerBytes", Napi::Number::New(env, static_cast<double>(header_.headerBytes)));
    out.Set("fileBytes", Napi::Number::New(env, static_cast<double>(header_.fileBytes)));
    deferred_.Resolve(out);
  }

 private:
  Header header_;
};


class SaveWorker : public FileWorker {
 public:
  SaveWorker(Napi::Env env, std::string path, std::vector<std::pair<std::string, at::Tensor>> entries,
             std::vector<std::pair<std::string, std::string>> metadata)
      : FileWorker(env, "torchgraft.safetensors.save", std::move(path)), entries_(std::move(entries)), metadata_(std::move(metadata)) {}

 protected:
  void Run() override {
    // Contiguous CPU copies only where needed; the handles keep the memory alive whatever JS disposes meanwhile.
    for (auto& e : entries_) {
      if (!e.second.device().is_cpu()) e.second = e.second.to(at::kCPU);
      e.second = e.second.contiguous();
    }
    // Largest elements first, then by name: every tensor starts aligned to its element size, and the order is
    // deterministic (the Python library orders by dtype, then name, to the same end).
    std::stable_sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      size_t sa = a.second.element_size(), sb = b.second.element_size();
      if (sa != sb) return sa > sb;
      return a.first < b.first;
    });
    std::string header = "{";
    if (!metadata_.empty()) {
      header += "\"__metadata__\":{";
      for (size_t i = 0; i < metadata_.size(); ++i) {
        if (i) header += ',';
        AppendJsonString(header, metadata_[i].first);
        header += ':';
        AppendJsonString(header, metadata_[i].second);
      }
      header += '}';
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
      const at::Tensor& t = entries_[i].second;
      if (i || !metadata_.empty()) header += ',';
      AppendJsonString(header, entries_[i].first);
      header += ":{\"dtype\":\"";
      header += FileDtypeName(t.scalar_type());
      header += "\",\"shape\":[" + c10::Join(",", t.sizes()) + "],\"data_offsets\":[" + std::to_string(offset) + ",";
      offset += t.nbytes();
      header += std::to_string(offset) + "]}";
    }
    header += '}';
    // Spaces pad the header so the data buffer starts 8-byte aligned (trailing whitespace is valid JSON).
    while ((header.size() % 8) != 0) header += ' ';
    TORCH_CHECK(header.size() <= kMaxHeaderBytes, "the header would be ", header.size(), " bytes, over the format's limit");

    // The caller (lib/io/atomic.ts) names a fresh temporary and renames it into place: here the bytes only need to be
    // complete and durable at path_, or absent.
    int raw;
    do {
      raw = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    } while (raw < 0 && errno == EINTR);
    if (raw < 0) FailErrno(path_, "cannot create the file", errno);
    Fd fd(raw);
    try {
      unsigned char len[8];
      uint64_t n = header.size();
      for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
      WriteAll(fd.get(), len, 8, path_);
      WriteAll(fd.get(), header.data(), header.size(), path_);
      for (auto& e : entries_)
        if (e.second.nbytes()) WriteAll(fd.get(), e.second.data_ptr(), e.second.nbytes(), path_);
      if (::fsync(fd.get()) != 0) FailErrno(path_, "fsync failed", errno);
      if (fd.Close() != 0) FailErrno(path_, "closing the file failed", errno);
    } catch (...) {
      fd.Close();
      ::unlink(path_.c_str());
      throw;
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    deferred_.Resolve(Env().Undefined());
  }

 private:
  std::vector<std::pair<std::string, at::Tensor>> entries_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

std::string PathArg(const Napi::Value& v, const char* fn) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path must be a string");
  std::string p = v.As<Napi::String>().Utf8Value();
  if (p.empty()) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path must not be empty");
  if (p.find('\0') != std::string::npos) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path contains a NUL character");
  return p;
}

Napi::Value Save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    std::string path = PathArg(info[1], "safetensors save");
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "safetensors save: entries must be an array of [name, tensor] pairs");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<std::pair<std::string, at::Tensor>> entries;
    std::unordered_set<std::string> names;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value item = arr.Get(i);
      if (!item.IsArray() || item.As<Napi::Array>().Length() != 2)
        throw Napi::TypeError::New(env, "safetensors save: entry " + std::to_string(i) + " is not a [name, tensor] pair");
      Napi::Array pair = item.As<Napi::Array>();
      if (!pair.Get(uint32_t{0}).IsString())
        throw Napi::TypeError::New(env, "safetensors save: entry " + std::to_string(i) + " has a name that is not a string");
      std::string name = pair.Get(uint32_t{0}).As<Napi::String>().Utf8Value();
      if (name == "__metadata__") ThrowTorchError(env, "safetensors save: the name '__metadata__' is reserved by the format", "ERR_SAFETENSORS_ENTRY");
      if (!names.insert(name).second) ThrowTorchError(env, "safetensors save: duplicate name " + Q(name), "ERR_SAFETENSORS_ENTRY");
      Napi::Value tv = pair.Get(uint32_t{1});
      if (!IsTensor(tv)) throw Napi::TypeError::New(env, "safetensors save: " + Q(name) + " is not a tensor");
      TensorWrap* w = TensorWrap::UnwrapOrNull(tv);
      if (!w || w->disposed()) ThrowTorchError(env, "safetensors save: tensor " + Q(name) + " was disposed", "ERR_SAFETENSORS_ENTRY");
      at::Tensor t = w->raw().detach();
      if (!FileDtypeName(t.scalar_type()))
        ThrowTorchError(env, "safetensors save: tensor " + Q(name) + " has dtype " + DtypeName(t.scalar_type()) +
                                 ", which safetensors files do not hold", "ERR_SAFETENSORS_ENTRY");
      entries.emplace_back(std::move(name), std::move(t));
    }
    std::vector<std::pair<std::string, std::string>> metadata;
    if (!info[2].IsUndefined() && !info[2].IsNull()) {
      if (!info[2].IsArray()) throw Napi::TypeError::New(env, "safetensors save: metadata must be an array of [key, value] string pairs");
      Napi::Array md = info[2].As<Napi::Array>();
      std::unordered_set<std::string> keys;
      for (uint32_t i = 0; i < md.Length(); ++i) {
        Napi::Value item = md.Get(i);
        Napi::Array kv = item.IsArray() ? item.As<Napi::Array>() : Napi::Array::New(env, 0);
        if (kv.Length() != 2 || !kv.Get(uint32_t{0}).IsString() || !kv.Get(uint32_t{1}).IsString())
          throw Napi::TypeError::New(env, "safetensors save: metadata entry " + std::to_string(i) + " is not a [key, value] pair of strings");
        std::string key = kv.Get(uint32_t{0}).As<Napi::String>().Utf8Value();
        if (!keys.insert(key).second) ThrowTorchError(env, "safetensors save: duplicate metadata key " + Q(key), "ERR_SAFETENSORS_ENTRY");
        metadata.emplace_back(std::move(key), kv.Get(uint32_t{1}).As<Napi::String>().Utf8Value());
      }
    }
    auto* worker = new SaveWorker(env, std::move(path), std::move(entries), std::move(metadata));
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  });
}

Napi::Value Load(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* worker = new LoadWorker(info.Env(), PathArg(info[0], "safetensors load"));
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  });
}

Napi::Value Inspect(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* worker = new InspectWorker(info.Env(), PathArg(info[0], "safetensors inspect"));
    Napi::Promise p = worker->Promise();
    worker->Queue();
    return p;
  });
}

}  // namespace

void RegisterSafetensors(Napi::Env env, Napi::Object exports) {
  exports.Set("safetensorsSave", Napi::Function::New(env, Save, "safetensorsSave"));
  exports.Set("safetensorsLoad", Napi::Function::New(env, Load, "safetensorsLoad"));
  exports.Set("safetensorsInspect", Napi::Function::New(env, Inspect, "safetensorsInspect"));
}

}  // namespace tg
