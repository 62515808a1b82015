// AtomicFile: see atomic_file.h. Temporary names carry the writer's pid so a later save can tell stale ones (their
// writer was killed) from a live concurrent writer's.
#include "atomic_file.h"
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <random>
#include <signal.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace tg {

// The folder part of a path ("." for a bare name).
static std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

static std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Follows a chain of symlinks (a dangling last link included: the file is created where it points), at most 40 hops
// as the kernel allows.
static std::string ResolveLinks(std::string path, const AtomicFile::Fail& fail) {
  for (int hop = 0; hop < 40; ++hop) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n < 0) fail("cannot read the symbolic link '" + path + "'", errno);
    std::string link(buf, static_cast<size_t>(n));
    path = link.front() == '/' ? link : DirName(path) + "/" + link;
  }
  fail("too many levels of symbolic links at '" + path + "'", ELOOP);
  throw std::runtime_error("unreachable");
}

// Removes `<base>.tmp-<pid>-<16 hex>` files in dir whose pid is no running process (a writer killed mid-save).
static void RemoveStaleTemps(const std::string& dir, const std::string& base) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  const std::string prefix = base + ".tmp-";
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = name.substr(prefix.size());
    size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || dash > 10 || rest.size() - dash - 1 != 16) continue;
    if (rest.find_first_not_of("0123456789") != dash || rest.find_first_not_of("0123456789abcdef", dash + 1) != std::string::npos)
      continue;
    long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
    if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    std::string full = dir + "/" + name;
    struct stat st;
    if (::lstat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(full.c_str());
  }
  ::closedir(d);
}

AtomicFile::AtomicFile(const std::string& path, Fail fail) : fail_(std::move(fail)) {
  target_ = ResolveLinks(path, fail_);
  RemoveStaleTemps(DirName(target_), BaseName(target_));
  std::random_device rd;
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".tmp-%ld-%08x%08x", static_cast<long>(::getpid()), rd(), rd());
  temp_ = target_ + suffix;
}

AtomicFile::~AtomicFile() {
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::Raise(const std::string& what, int err) {
  fail_(what, err);
  throw std::runtime_error(what);
}

void AtomicFile::Commit() {
  int fd;
  do {
    fd = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) Raise("cannot reopen the temporary file '" + temp_ + "'", errno);
  // Re-saving keeps the file's permissions (a 0600 file stays 0600); a new file gets the umask's.
  struct stat st;
  if (::stat(target_.c_str(), &st) == 0 && ::fchmod(fd, st.st_mode & 07777) != 0) {
    int err = errno;
    ::close(fd);
    Raise("cannot give the temporary file the mode of '" + target_ + "'", err);
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) Raise("fsync of the temporary file failed", err);
  if (::rename(temp_.c_str(), target_.c_str()) != 0) Raise("cannot rename the temporary file over it", errno);
  committed_ = true;
  // The rename is durable only once the directory entry is on disk.
  int dfd = ::open(DirName(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // some filesystems refuse fsync on a directory; the file itself is already safe
    ::close(dfd);
  }
}

}  // namespace tg
