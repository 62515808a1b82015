// Maps LibTorch's exception hierarchy onto JavaScript's error classes (specific ones before c10::Error).
#include "guard.h"
#include "addon.h"

namespace tg {

static std::string FirstLines(const std::string& what) {
  // LibTorch messages may still carry a C++ frame list; keep the human part.
  auto pos = what.find("\nException raised from");
  std::string s = pos == std::string::npos ? what : what.substr(0, pos);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Napi::Object TorchErrorValue(Napi::Env env, const std::string& message, const char* code) {
  Addon* addon = env.GetInstanceData<Addon>();
  Napi::Object err = addon && !addon->torchErrorCtor.IsEmpty() ? addon->torchErrorCtor.New({Napi::String::New(env, message)})
                                                               : Napi::Error::New(env, message).Value();
  if (code) err.Set("code", Napi::String::New(env, code));
  return err;
}

[[noreturn]] void ThrowTorchError(Napi::Env env, const std::string& message, const char* code) {
  throw Napi::Error(env, TorchErrorValue(env, message, code));
}

[[noreturn]] void RethrowAsJs(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::IndexError& e) {
    throw Napi::RangeError::New(env, FirstLines(e.what_without_backtrace()));
  } catch (const c10::TypeError& e) {
    throw Napi::TypeError::New(env, FirstLines(e.what_without_backtrace()));
  } catch (const c10::Error& e) {
    ThrowTorchError(env, FirstLines(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    ThrowTorchError(env, "out of memory", "ERR_OUT_OF_MEMORY");
  } catch (const CodedError& e) {
    ThrowTorchError(env, e.what(), e.code);
  } catch (const std::out_of_range& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const std::exception& e) {
    ThrowTorchError(env, e.what());
  } catch (...) {
    ThrowTorchError(env, "unknown native error");
  }
}

}  // namespace tg
