//===- DiskCache.cpp - Compiled artifacts on disk -------------------------===//

#include "DiskCache.h"

#include "CacheEntryFormat.h"
#include "FileSystem.h"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace adamas::rt {

namespace {
constexpr const char *kTemporaryPrefix = ".tmp-";
constexpr const char *kLockName = ".lock";

/// A name no other writer, in this process or another, is using.
std::string temporaryName(const Digest &key) {
  static std::atomic<uint64_t> counter{0};
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::string(kTemporaryPrefix) + key.hex().substr(0, 16) + "-" +
         std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(now.tv_nsec);
}

/// Removes `path` if it still names the file `fd` refers to. A writer may
/// have renamed a fresh entry over it since we opened it; that one stays.
void removeIfUnchanged(const std::string &path, int fd) {
  struct stat opened, current;
  if (fstat(fd, &opened) != 0 || stat(path.c_str(), &current) != 0)
    return;
  if (opened.st_dev == current.st_dev && opened.st_ino == current.st_ino)
    unlink(path.c_str());
}

int64_t toNanoseconds(const struct timespec &time) {
  return int64_t(time.tv_sec) * 1000000000 + time.tv_nsec;
}
} // namespace

bool isEntryFileName(const std::string &name) {
  if (name.size() != 64 + 4 || name.compare(64, 4, ".bin") != 0)
    return false;
  return std::all_of(name.begin(), name.begin() + 64, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

std::unique_ptr<DiskCache> DiskCache::open(const std::string &root,
                                           uint64_t maxBytes,
                                           std::string *problem) {
  std::string directory = joinPath(root, kSubdirectory);
  if (!createDirectories(directory, problem))
    return nullptr;
  // Only creating a file proves we can write: permission bits do not apply
  // to root, and a read-only mount reports itself only on writes.
  std::string probe = joinPath(directory, temporaryName(Digest()));
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    *problem = describeErrno("cannot create files in", directory, errno);
    return nullptr;
  }
  close(fd);
  unlink(probe.c_str());

  // Tell backup tools this is a cache (https://bford.info/cachedir/).
  std::string tag = joinPath(root, "CACHEDIR.TAG");
  int tagFd = ::open(tag.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (tagFd >= 0) {
    static const char text[] = "Signature: 8a477f597d28d172789f06886806bc55\n"
                               "# adamas compiled-kernel cache\n";
    (void)writeAll(tagFd, text, sizeof(text) - 1);
    close(tagFd);
  }
  return std::unique_ptr<DiskCache>(new DiskCache(directory, maxBytes));
}

std::string DiskCache::entryPath(const Digest &key) const {
  return joinPath(directory_, key.hex() + ".bin");
}

DiskCache::LookupResult DiskCache::lookup(const Digest &key,
                                          std::vector<uint8_t> *payload,
                                          Digest *checksum,
                                          std::string *problem) {
  std::string path = entryPath(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT)
      *problem = describeErrno("cannot open cache entry", path, errno);
    return LookupResult::Miss;
  }
  struct stat info;
  std::vector<uint8_t> file;
  bool readOk = fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  if (readOk) {
    file.resize(size_t(info.st_size));
    readOk = readExactly(fd, file.data(), file.size());
  }
  if (!readOk) {
    *problem = describeErrno("cannot read cache entry", path, errno);
    close(fd);
    return LookupResult::Miss;
  }
  std::string why;
  if (!validateEntry(file.data(), file.size(), key, checksum, &why)) {
    removeIfUnchanged(path, fd);
    close(fd);
    ++corrupt_;
    *problem = "removed bad cache entry '" + path + "': " + why;
    return LookupResult::Corrupt;
  }
  close(fd);

  // Refresh recency. Failure (e.g. someone else's file) only makes LRU less
  // exact, so it is ignored.
  struct timespec times[2] = {nextLruTimestamp(), nextLruTimestamp()};
  (void)utimensat(AT_FDCWD, path.c_str(), times, 0);

  payload->assign(file.begin() + kEntryHeaderSize, file.end());
  return LookupResult::Hit;
}

Status DiskCache::store(const Digest &key, const void *payload, size_t size,
                        const Digest &checksum) {
  if (size + kEntryHeaderSize > maxBytes_)
    return Status::error(ADAMAS_ERROR_IO,
                         "artifact of " + std::to_string(size) +
                             " bytes is larger than the cache bound of " +
                             std::to_string(maxBytes_) + " bytes; not stored");

  std::string temporary = joinPath(directory_, temporaryName(key));
  int fd = ::open(temporary.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::error(ADAMAS_ERROR_IO,
                         describeErrno("cannot create", temporary, errno));
  std::vector<uint8_t> header = encodeEntryHeader(key, checksum, size);
  bool ok = writeAll(fd, header.data(), header.size()) &&
            writeAll(fd, payload, size);
  int writeErrno = errno;
  // No fsync: an entry torn by a crash fails validation and is rebuilt.
  struct timespec times[2] = {nextLruTimestamp(), nextLruTimestamp()};
  (void)futimens(fd, times);
  if (close(fd) != 0 && ok) {
    ok = false;
    writeErrno = errno;
  }
  if (!ok) {
    unlink(temporary.c_str());
    return Status::error(ADAMAS_ERROR_IO,
                         describeErrno("cannot write", temporary, writeErrno));
  }
  std::string path = entryPath(key);
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    int renameErrno = errno;
    unlink(temporary.c_str());
    return Status::error(ADAMAS_ERROR_IO,
                         describeErrno("cannot rename into", path, renameErrno));
  }
  ++written_;
  evict();
  return Status::success();
}

size_t DiskCache::evict() {
  struct Candidate {
    std::string path;
    uint64_t bytes;
    int64_t lastUse;
  };
  FileLock lock(joinPath(directory_, kLockName));
  // Without the lock, evicting anyway is still correct (unlinking is atomic
  // and readers keep what they opened); the lock only avoids duplicate work.

  DIR *dir = opendir(directory_.c_str());
  if (!dir)
    return 0;
  std::vector<Candidate> entries;
  uint64_t total = 0;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  while (struct dirent *item = readdir(dir)) {
    std::string name = item->d_name;
    std::string path = joinPath(directory_, name);
    struct stat info;
    if (name.rfind(kTemporaryPrefix, 0) == 0) {
      if (stat(path.c_str(), &info) == 0 &&
          now.tv_sec - info.st_mtim.tv_sec > kStaleTemporarySeconds)
        unlink(path.c_str());
      continue;
    }
    if (!isEntryFileName(name) || stat(path.c_str(), &info) != 0 ||
        !S_ISREG(info.st_mode))
      continue;
    entries.push_back({path, uint64_t(info.st_size), toNanoseconds(info.st_mtim)});
    total += uint64_t(info.st_size);
  }
  closedir(dir);
  if (total <= maxBytes_)
    return 0;

  std::sort(entries.begin(), entries.end(),
            [](const Candidate &a, const Candidate &b) {
              return a.lastUse != b.lastUse ? a.lastUse < b.lastUse
                                            : a.path < b.path;
            });
  size_t removed = 0;
  for (const Candidate &entry : entries) {
    if (total <= maxBytes_)
      break;
    if (unlink(entry.path.c_str()) == 0 || errno == ENOENT) {
      total -= entry.bytes;
      ++removed;
    }
  }
  evicted_ += removed;
  return removed;
}

uint64_t DiskCache::totalEntryBytes() const {
  DIR *dir = opendir(directory_.c_str());
  if (!dir)
    return 0;
  uint64_t total = 0;
  while (struct dirent *item = readdir(dir)) {
    struct stat info;
    if (isEntryFileName(item->d_name) &&
        stat(joinPath(directory_, item->d_name).c_str(), &info) == 0)
      total += uint64_t(info.st_size);
  }
  closedir(dir);
  return total;
}

} // namespace adamas::rt
