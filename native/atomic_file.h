// Atomic replacement of a file: a temporary beside the real target (symlinks are written through), the replaced file's
// mode kept, fsync, rename over the target, fsync of the folder; temporaries left by dead writers are removed.
#pragma once
#include <functional>
#include <string>

namespace tg {

class AtomicFile {
 public:
  // Reports a failed system call (what, errno) and must throw: the caller's own error type, with its code.
  using Fail = std::function<void(const std::string& what, int err)>;

  // Resolves `path` through symlinks and removes `<target>.tmp-<pid>-<hex>` files whose process is gone.
  AtomicFile(const std::string& path, Fail fail);
  ~AtomicFile();  // removes the temporary unless Commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // The file the data ends up in (symlinks resolved) and the temporary to write first.
  const std::string& target() const { return target_; }
  const std::string& temp() const { return temp_; }

  // Makes the temporary durable (fsync), gives it the mode of the file it replaces, renames it over the target and
  // syncs the folder.
  void Commit();

 private:
  [[noreturn]] void Raise(const std::string& what, int err);
  Fail fail_;
  std::string target_, temp_;
  bool committed_ = false;
};

}  // namespace tg
