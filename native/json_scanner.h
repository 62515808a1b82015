// A strict JSON (RFC 8259) scanner for headers read from untrusted files (safetensors): UTF-8 validated, no trailing
// commas, no comments, bounded depth. It is driven by the caller's schema: only what the caller needs is stored,
// anything else is checked and skipped, so memory stays proportional to what is used, never to what a hostile header
// repeats (a 100 MB `[0,0,...]`). Header-only: its member templates take the caller's callbacks.
#pragma once
#include "file_io.h"
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace tg {

// A number token: its text, and its value when written as a non-negative integer that fits in uint64.
struct Num {
  std::string text;
  bool isUint = false;
  uint64_t u = 0;
};

class JsonScanner {
 public:
  // Errors are FileErrors with `code`, their message naming the byte of the text where the problem is.
  JsonScanner(const char* begin, const char* end, const char* code, size_t maxDepth = 64)
      : b_(begin), p_(begin), e_(end), code_(code), maxDepth_(maxDepth) {}

  [[noreturn]] void Error(const std::string& what) {
    FailFile(code_, "header is not valid JSON: " + what + " at header byte " + std::to_string(p_ - b_));
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
    if (depth > maxDepth_) Error("nesting deeper than " + std::to_string(maxDepth_));
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
    if (depth > maxDepth_) Error("nesting deeper than " + std::to_string(maxDepth_));
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
    FailFile(code_, "header is not valid UTF-8 at header byte " + std::to_string(p_ - b_ + at));
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
  const char* code_;
  size_t maxDepth_;
};

}  // namespace tg
