// The native file layer shared by every native reader and writer (see file_io.h).
#include "file_io.h"
#include "addon.h"
#include "guard.h"
#include <c10/util/Exception.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tg {

void FailFile(const char* code, const std::string& problem) { throw FileError(code, problem); }

void FailErrno(const std::string& what, int err) { throw FileError("ERR_IO", what + ": " + std::strerror(err)); }

int Fd::Close() {
  int rc = 0;
  if (fd_ >= 0) rc = ::close(fd_);
  fd_ = -1;
  return rc;
}

Fd OpenRegularFile(const std::string& path) {
  int raw;
  do {
    // O_NONBLOCK: opening a FIFO must not park a worker thread forever; fstat then refuses anything but a file.
    raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) FailErrno("cannot open", errno);
  Fd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) FailErrno("stat failed", errno);
  if (!S_ISREG(st.st_mode)) FailFile("ERR_IO", "not a regular file");
  return fd;
}

Fd CreateNewFile(const std::string& path) {
  int raw;
  do {
    raw = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) FailErrno("cannot create the file", errno);
  return Fd(raw);
}

void PreadAll(int fd, void* dst, uint64_t n, uint64_t offset, const char* truncatedCode) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1u << 30));
    ssize_t r = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      FailErrno("read failed", errno);
    }
    if (r == 0) FailFile(truncatedCode, "the file ended while reading (was it truncated meanwhile?)");
    p += r;
    n -= static_cast<uint64_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

void WriteAll(int fd, const void* src, size_t n) {
  const char* p = static_cast<const char*>(src);
  while (n > 0) {
    ssize_t w = ::write(fd, p, std::min<size_t>(n, 1u << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      FailErrno("write failed", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) FailErrno("cannot reopen the written file", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) FailErrno("fsync failed", err);
}

std::string PathArg(const Napi::Value& v, const char* fn) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path must be a string");
  std::string p = v.As<Napi::String>().Utf8Value();
  if (p.empty()) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path must not be empty");
  if (p.find('\0') != std::string::npos) throw Napi::TypeError::New(v.Env(), std::string(fn) + ": path contains a NUL character");
  return p;
}

std::string TrimBacktrace(std::string s) {
  auto pos = s.find("\nException raised from");
  if (pos != std::string::npos) s.resize(pos);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

FileWorker::FileWorker(Napi::Env env, const char* resource, std::string label, std::string path, std::string defaultCode)
    : Napi::AsyncWorker(env, resource),
      deferred_(Napi::Promise::Deferred::New(env)),
      label_(std::move(label)),
      path_(std::move(path)),
      code_(std::move(defaultCode)) {}

void FileWorker::Execute() {
  const std::string prefix = label_ + ": '" + path_ + "': ";
  try {
    Run();
  } catch (const FileError& e) {
    code_ = e.code;
    SetError(prefix + e.what());
  } catch (const c10::Error& e) {
    SetError(prefix + TrimBacktrace(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    code_ = "ERR_OUT_OF_MEMORY";
    SetError(prefix + "out of memory");
  } catch (const std::exception& e) {
    SetError(prefix + TrimBacktrace(e.what()));
  } catch (...) {
    SetError(prefix + "unknown native error");
  }
}

void FileWorker::OnError(const Napi::Error& e) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Object err = TorchErrorValue(env, e.Message(), code_.empty() ? nullptr : code_.c_str());
  err.Set("path", Napi::String::New(env, path_));
  deferred_.Reject(err);
}

}  // namespace tg
