// safetensors reading and writing: a strict JSON parser for the header, validation against the file size before any
// allocation, pread into tensors, and atomic writes (temp file, fsync, rename, fsync of the directory).
#include "safetensors.h"
#include "registry.h"
#include "tensor.h"
#include "guard.h"
#include "convert.h"
#include "addon.h"
#include "file_io.h"
#include "json_scanner.h"

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
constexpr size_t kMaxDims = 64;

// Every failure below is a FileError; the worker prefixes it with `safetensors: '<path>': `.
[[noreturn]] void Fail(const char* code, const std::string& problem) { FailFile(code, problem); }

// Quotes a name for a message, cut short so a hostile header cannot make a megabyte-long error.
std::string Q(const std::string& s) {
  std::string out = s.size() > 200 ? s.substr(0, 200) + "..." : s;
  return "'" + out + "'";
}

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

Header ReadHeader(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) FailErrno("stat failed", errno);
  Header h;
  h.fileBytes = static_cast<uint64_t>(st.st_size);
  if (h.fileBytes < 8)
    Fail("ERR_SAFETENSORS_TRUNCATED", "the file is " + std::to_string(h.fileBytes) +
                                                " bytes long, shorter than the 8-byte header length that starts the format");
  unsigned char lenBytes[8];
  PreadAll(fd, lenBytes, 8, 0, "ERR_SAFETENSORS_TRUNCATED");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | lenBytes[i];
  if (n > kMaxHeaderBytes)
    Fail("ERR_SAFETENSORS_HEADER", "declared header length " + std::to_string(n) + " exceeds the limit of " +
                                             std::to_string(kMaxHeaderBytes) + " bytes");
  if (n > h.fileBytes - 8)
    Fail("ERR_SAFETENSORS_TRUNCATED", "declared header length " + std::to_string(n) + " but only " +
                                                std::to_string(h.fileBytes - 8) + " bytes follow the length field");
  if (n < 2) Fail("ERR_SAFETENSORS_HEADER", "declared header length " + std::to_string(n) + " is too short for a JSON object");
  h.headerBytes = n;
  h.dataStart = 8 + n;
  std::string text(static_cast<size_t>(n), '\0');
  PreadAll(fd, &text[0], n, 8, "ERR_SAFETENSORS_TRUNCATED");
  if (text[0] != '{') Fail("ERR_SAFETENSORS_HEADER", "header does not start with '{'");

  JsonScanner js(text.data(), text.data() + text.size(), "ERR_SAFETENSORS_HEADER");
  std::unordered_set<std::string> seen;
  size_t order = 0;
  js.Object(0, [&](const std::string& name) {
    if (!seen.insert(name).second) Fail("ERR_SAFETENSORS_HEADER", "duplicate tensor name " + Q(name));
    if (name == "__metadata__") {
      const char* kind = js.PeekKind();
      if (!js.Peek('{')) Fail("ERR_SAFETENSORS_HEADER", std::string("__metadata__ must be an object of strings, got ") + kind);
      std::unordered_set<std::string> keys;
      js.Object(1, [&](const std::string& key) {
        const char* k = js.PeekKind();
        if (!js.Peek('"'))
          Fail("ERR_SAFETENSORS_HEADER", "__metadata__ must map strings to strings; key " + Q(key) + " holds " + k);
        if (!keys.insert(key).second) Fail("ERR_SAFETENSORS_HEADER", "duplicate __metadata__ key " + Q(key));
        h.metadata.emplace_back(key, js.String());
      });
      return;
    }
    const std::string what = "tensor " + Q(name);
    const char* kind = js.PeekKind();
    if (!js.Peek('{')) Fail("ERR_SAFETENSORS_HEADER", what + " is " + kind + ", not an object");
    bool haveDtype = false, haveShape = false, haveOffsets = false;
    std::string dtypeName;
    std::vector<Num> shape, offsets;
    js.Object(1, [&](const std::string& field) {
      if (field == "dtype") {
        if (haveDtype) Fail("ERR_SAFETENSORS_HEADER", what + " has 'dtype' twice");
        haveDtype = true;
        if (!js.Peek('"')) Fail("ERR_SAFETENSORS_HEADER", what + ": 'dtype' is " + js.PeekKind() + ", not a string");
        dtypeName = js.String();
      } else if (field == "shape" || field == "data_offsets") {
        const bool isShape = field == "shape";
        bool& have = isShape ? haveShape : haveOffsets;
        std::vector<Num>& out = isShape ? shape : offsets;
        if (have) Fail("ERR_SAFETENSORS_HEADER", what + " has '" + field + "' twice");
        have = true;
        if (!js.Peek('[')) Fail("ERR_SAFETENSORS_HEADER", what + ": '" + field + "' is " + js.PeekKind() + ", not an array");
        js.Array(2, [&](size_t i) {
          if (isShape && i >= kMaxDims)
            Fail("ERR_SAFETENSORS_HEADER", what + " has more than " + std::to_string(kMaxDims) + " dimensions");
          if (!isShape && i >= 2) Fail("ERR_SAFETENSORS_HEADER", what + ": 'data_offsets' must hold exactly two integers");
          const char* k = js.PeekKind();
          if (std::strcmp(k, "a number") != 0)
            Fail("ERR_SAFETENSORS_HEADER", what + ": '" + field + "' entries must be non-negative integers, got " + k);
          out.push_back(js.Number());
        });
      } else {
        js.Skip(2);  // unknown fields are ignored, as the reference implementation does
      }
    });
    if (!haveDtype) Fail("ERR_SAFETENSORS_HEADER", what + ": 'dtype' is missing");
    if (!haveShape) Fail("ERR_SAFETENSORS_HEADER", what + ": 'shape' is missing");
    if (!haveOffsets || offsets.size() != 2)
      Fail("ERR_SAFETENSORS_HEADER", what + ": 'data_offsets' is missing or not an array of two integers");

    Entry e;
    e.name = name;
    e.order = order++;
    e.dtype = FindDtype(dtypeName);
    if (!e.dtype)
      Fail("ERR_SAFETENSORS_DTYPE", what + " has unknown dtype " + Q(dtypeName) +
                                              " (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U16, U32, U64, F8_E4M3, F8_E5M2)");
    if (!e.dtype->supported)
      Fail("ERR_SAFETENSORS_DTYPE", what + " has dtype " + std::string(e.dtype->name) + ", which is not supported: " + e.dtype->why);

    // Every dimension must be an int64; the product of the non-zero ones must fit too, so strides cannot overflow.
    uint64_t product = 1;
    bool anyZero = false;
    for (const Num& d : shape) {
      if (!d.isUint || d.u > static_cast<uint64_t>(INT64_MAX))
        Fail("ERR_SAFETENSORS_HEADER", what + ": shape entries must be non-negative integers (int64), got " + d.text);
      if (d.u == 0) anyZero = true;
      if (__builtin_mul_overflow(product, std::max<uint64_t>(d.u, 1), &product) || product > static_cast<uint64_t>(INT64_MAX))
        Fail("ERR_SAFETENSORS_HEADER", what + ": shape has more elements than int64 can count");
      e.shape.push_back(static_cast<int64_t>(d.u));
    }
    uint64_t numel = anyZero ? 0 : product;
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(e.dtype->itemsize), &nbytes))
      Fail("ERR_SAFETENSORS_HEADER", what + ": shape " + ShapeText(e.shape) + " needs more bytes than a file can hold");
    for (const Num& o : offsets)
      if (!o.isUint) Fail("ERR_SAFETENSORS_HEADER", what + ": data_offsets must be non-negative integers, got " + o.text);
    e.begin = offsets[0].u;
    e.end = offsets[1].u;
    std::string span = "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.end < e.begin) Fail("ERR_SAFETENSORS_OFFSETS", what + ": " + span + " are reversed");
    if (e.end - e.begin != nbytes)
      Fail("ERR_SAFETENSORS_OFFSETS", what + ": " + e.dtype->name + " " + ShapeText(e.shape) + " needs " +
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
      Fail("ERR_SAFETENSORS_OFFSETS", "tensor " + Q(e.name) + " (" + span + ") overlaps tensor " + Q(prev->name));
    if (e.begin > expected)
      Fail("ERR_SAFETENSORS_OFFSETS", "gap of " + std::to_string(e.begin - expected) + " bytes before tensor " + Q(e.name) +
                                                " (" + span + "): offsets must be contiguous from 0");
    if (e.end > dataBytes)
      Fail("ERR_SAFETENSORS_TRUNCATED", "tensor " + Q(e.name) + " (" + span + ") ends past the end of the file: the data buffer holds " +
                                                  std::to_string(dataBytes) + " bytes");
    expected = e.end;
    prev = &e;
  }
  if (expected != dataBytes)
    Fail("ERR_SAFETENSORS_OFFSETS", std::to_string(dataBytes - expected) +
                                              " bytes after the last tensor are not described by the header");
  return h;
}

// Allocates (only after validation) and reads one tensor.
at::Tensor ReadTensor(int fd, const Header& h, const Entry& e) {
  at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype->stored));
  uint64_t n = e.end - e.begin;
  if (n) PreadAll(fd, t.data_ptr(), n, h.dataStart + e.begin, "ERR_SAFETENSORS_TRUNCATED");
  if (e.dtype->stored == at::kBool && n) {
    // A bool byte other than 0 or 1 is not a value PyTorch can hold; refuse it rather than pass on undefined behaviour.
    const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
    for (uint64_t i = 0; i < n; ++i)
      if (bytes[i] > 1)
        Fail("ERR_SAFETENSORS_DATA", "BOOL tensor " + Q(e.name) + " holds the byte " + std::to_string(bytes[i]) +
                                               " at element " + std::to_string(i) + " (only 0 and 1 are booleans)");
  }
  if (e.dtype->stored == e.dtype->result) return t;
  if (std::strcmp(e.dtype->name, "U16") == 0) return t.to(at::kInt).bitwise_and(0xFFFF);
  if (std::strcmp(e.dtype->name, "U32") == 0) return t.to(at::kLong).bitwise_and(int64_t{0xFFFFFFFF});
  return t.to(e.dtype->result);
}

// ---------------------------------------------------------------------------------------------------------------
// Workers

// Every worker reports as `safetensors: '<path>': ...`; errors LibTorch raises are ERR_SAFETENSORS.
constexpr const char* kLabel = "safetensors";

class LoadWorker : public FileWorker {
 public:
  LoadWorker(Napi::Env env, std::string path) : FileWorker(env, "torchgraft.safetensors.load", kLabel, std::move(path), "ERR_SAFETENSORS") {}

 protected:
  void Run() override {
    Fd fd = OpenRegularFile(path_);
    header_ = ReadHeader(fd.get());
    tensors_.reserve(header_.entries.size());
    for (const Entry& e : header_.entries) tensors_.push_back(ReadTensor(fd.get(), header_, e));
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
  InspectWorker(Napi::Env env, std::string path) : FileWorker(env, "torchgraft.safetensors.inspect", kLabel, std::move(path), "ERR_SAFETENSORS") {}

 protected:
  void Run() override {
    Fd fd = OpenRegularFile(path_);
    header_ = ReadHeader(fd.get());
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
      : FileWorker(env, "torchgraft.safetensors.save", kLabel, std::move(path), "ERR_SAFETENSORS"), entries_(std::move(entries)), metadata_(std::move(metadata)) {}

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
    Fd fd = CreateNewFile(path_);
    try {
      unsigned char len[8];
      uint64_t n = header.size();
      for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
      WriteAll(fd.get(), len, 8);
      WriteAll(fd.get(), header.data(), header.size());
      for (auto& e : entries_)
        if (e.second.nbytes()) WriteAll(fd.get(), e.second.data_ptr(), e.second.nbytes());
      if (::fsync(fd.get()) != 0) FailErrno("fsync failed", errno);
      if (fd.Close() != 0) FailErrno("closing the file failed", errno);
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
    return QueueFileWorker(worker);
  });
}

Napi::Value Load(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* worker = new LoadWorker(info.Env(), PathArg(info[0], "safetensors load"));
    return QueueFileWorker(worker);
  });
}

Napi::Value Inspect(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto* worker = new InspectWorker(info.Env(), PathArg(info[0], "safetensors inspect"));
    return QueueFileWorker(worker);
  });
}

}  // namespace

void RegisterSafetensors(Napi::Env env, Napi::Object exports) {
  exports.Set("safetensorsSave", Napi::Function::New(env, Save, "safetensorsSave"));
  exports.Set("safetensorsLoad", Napi::Function::New(env, Load, "safetensorsLoad"));
  exports.Set("safetensorsInspect", Napi::Function::New(env, Inspect, "safetensorsInspect"));
}

}  // namespace tg
