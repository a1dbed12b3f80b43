//===- FileSystem.h - POSIX file helpers for the disk cache -----*- C++ -*-===//
//
// Thin wrappers that turn errno into messages naming the path, plus the two
// primitives the cache's multi-process safety rests on: an advisory file
// lock (flock) and strictly increasing modification-time stamps.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_FILESYSTEM_H
#define ADAMAS_RUNTIME_FILESYSTEM_H

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace adamas::rt {

/// `a/b`, without doubling a separator.
std::string joinPath(const std::string &a, const std::string &b);

/// "<what> '<path>': <strerror(errnum)>".
std::string describeErrno(const std::string &what, const std::string &path,
                          int errnum);

/// mkdir -p with mode 0755. False (and `error`) when some component cannot
/// be created or is not a directory.
bool createDirectories(const std::string &path, std::string *error);

/// Writes all of `data` to `fd`, retrying short writes and EINTR.
bool writeAll(int fd, const void *data, size_t size);

/// Reads exactly `size` bytes from `fd` at its current offset.
bool readExactly(int fd, void *data, size_t size);

/// A timestamp later than every earlier one this process handed out, at
/// nanosecond resolution. Used as an entry's modification time, which is
/// what least-recently-used eviction sorts by: the kernel's own "now" is
/// only as fine as its clock tick, so entries touched in the same tick would
/// otherwise tie.
struct timespec nextLruTimestamp();

/// An exclusive flock() on a lock file, released on destruction.
class FileLock {
public:
  /// Blocks until the lock on `path` (created if missing) is held. On failure
  /// held() is false and error() says why.
  explicit FileLock(const std::string &path);
  ~FileLock();
  FileLock(const FileLock &) = delete;
  FileLock &operator=(const FileLock &) = delete;

  bool held() const { return fd_ >= 0; }
  const std::string &error() const { return error_; }

private:
  int fd_ = -1;
  std::string error_;
};

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_FILESYSTEM_H
