// One guard for every native entry point: C++ and LibTorch exceptions become JavaScript errors, never an abort.
#pragma once
#include "pch.h"

namespace tg {

// An error with a stable `code` for JavaScript (TorchError with err.code), thrown from code that has no Napi::Env.
struct CodedError : std::runtime_error {
  CodedError(const std::string& message, const char* code) : std::runtime_error(message), code(code) {}
  const char* code;
};

// Converts the exception in flight into the matching JavaScript error and throws it as Napi::Error.
[[noreturn]] void RethrowAsJs(Napi::Env env);

// A TorchError (the library's error class) with a message and optional code, as a value (to reject a promise with).
Napi::Object TorchErrorValue(Napi::Env env, const std::string& message, const char* code = nullptr);

// Throws a TorchError (the library's error class) with a message.
[[noreturn]] void ThrowTorchError(Napi::Env env, const std::string& message, const char* code = nullptr);

// Runs body, mapping any exception to a JavaScript error.
template <typename F>
inline auto Guarded(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    RethrowAsJs(env);
  }
}

}  // namespace tg
