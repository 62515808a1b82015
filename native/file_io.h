// The native file layer: a coded error raised on a worker thread, file descriptors, whole reads and writes, fsync,
// the path argument check, and the async worker base that turns a failure into a TorchError naming the file.
// Atomic replacement (temporary, rename, fsync of the folder) is lib/io/atomic.ts's job: native writers only write
// the temporary path they are given, completely and durably, or leave nothing there.
#pragma once
#include <napi.h>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tg {

// An error with a stable code; the worker prefixes its message with `<label>: '<path>': `.
struct FileError : std::runtime_error {
  std::string code;
  FileError(std::string c, const std::string& msg) : std::runtime_error(msg), code(std::move(c)) {}
};

[[noreturn]] void FailFile(const char* code, const std::string& problem);
// ERR_IO with the system's reason, e.g. "cannot open: No such file or directory".
[[noreturn]] void FailErrno(const std::string& what, int err);

// A file descriptor closed with its owner.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  int get() const { return fd_; }
  int Close();

 private:
  int fd_ = -1;
};

// Opens a regular file for reading; a FIFO or device is refused at once instead of blocking the worker.
Fd OpenRegularFile(const std::string& path);
// Creates a file that must not exist yet (the temporary lib/io/atomic.ts names), mode 0666 before the umask.
Fd CreateNewFile(const std::string& path);
// Reads exactly n bytes at offset; a file that shrinks meanwhile is `truncatedCode`.
void PreadAll(int fd, void* dst, uint64_t n, uint64_t offset, const char* truncatedCode);
void WriteAll(int fd, const void* src, size_t n);
// Flushes a file already written and closed by someone else (LibTorch's own writers) to the disk.
void FsyncPath(const std::string& path);

// The path argument of a file entry point: a non-empty string without NUL (TypeError otherwise).
std::string PathArg(const Napi::Value& v, const char* fn);

// LibTorch messages may carry a C++ frame list; keeps the human part.
std::string TrimBacktrace(std::string s);

// An async file job: Run() on a worker thread; any failure rejects the promise with a TorchError carrying `code` and
// `path`, its message `<label>: '<path>': <problem>`.
class FileWorker : public Napi::AsyncWorker {
 public:
  FileWorker(Napi::Env env, const char* resource, std::string label, std::string path, std::string defaultCode);
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() final;
  void OnError(const Napi::Error& e) final;

 protected:
  virtual void Run() = 0;
  Napi::Promise::Deferred deferred_;
  std::string label_;
  std::string path_;
  std::string code_;
};

// Queues a worker and returns its promise.
template <typename W>
Napi::Value QueueFileWorker(W* worker) {
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace tg
