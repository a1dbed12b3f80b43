//===- FileSystem.cpp - POSIX file helpers for the disk cache -------------===//

#include "FileSystem.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace adamas::rt {

std::string joinPath(const std::string &a, const std::string &b) {
  if (a.empty())
    return b;
  if (a.back() == '/')
    return a + b;
  return a + "/" + b;
}

std::string describeErrno(const std::string &what, const std::string &path,
                          int errnum) {
  return what + " '" + path + "': " + std::strerror(errnum);
}

bool createDirectories(const std::string &path, std::string *error) {
  if (path.empty()) {
    *error = "empty directory path";
    return false;
  }
  // Create each prefix ending before a '/', then the path itself.
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      *error = describeErrno("cannot create directory", prefix, errno);
      return false;
    }
    if (slash == std::string::npos)
      break;
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    *error = describeErrno("cannot access directory", path, errno);
    return false;
  }
  if (!S_ISDIR(info.st_mode)) {
    *error = "'" + path + "' exists and is not a directory";
    return false;
  }
  return true;
}

bool writeAll(int fd, const void *data, size_t size) {
  const char *bytes = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t written = write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    bytes += written;
    size -= size_t(written);
  }
  return true;
}

bool readExactly(int fd, void *data, size_t size) {
  char *bytes = static_cast<char *>(data);
  while (size > 0) {
    ssize_t got = read(fd, bytes, size);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    if (got == 0)
      return false; // The file shrank under us.
    bytes += got;
    size -= size_t(got);
  }
  return true;
}

struct timespec nextLruTimestamp() {
  static std::atomic<int64_t> last{0};
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t stamp = int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
  int64_t previous = last.load();
  while (true) {
    int64_t next = stamp > previous ? stamp : previous + 1;
    if (last.compare_exchange_weak(previous, next)) {
      stamp = next;
      break;
    }
  }
  struct timespec result;
  result.tv_sec = time_t(stamp / 1000000000);
  result.tv_nsec = long(stamp % 1000000000);
  return result;
}

FileLock::FileLock(const std::string &path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error_ = describeErrno("cannot open lock file", path, errno);
    return;
  }
  while (flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR)
      continue;
    error_ = describeErrno("cannot lock", path, errno);
    close(fd);
    return;
  }
  fd_ = fd;
}

FileLock::~FileLock() {
  if (fd_ >= 0)
    close(fd_); // Closing the last descriptor releases the flock.
}

} // namespace adamas::rt
