//===- DiskCache.h - Compiled artifacts on disk -----------------*- C++ -*-===//
//
// One directory, <root>/artifacts-v1, one file per artifact, named by its key.
// Safe with any number of processes and threads without a shared index:
//  - writers create a private temporary file, fill it and rename() it over
//    the final name, so readers see a whole entry or none; two writers of one
//    key both succeed and the last rename wins (both wrote valid entries);
//  - readers validate every entry (CacheEntryFormat.h) and delete a bad one
//    only if the name still refers to the file they read, so they never
//    delete a good entry a writer has just put in its place;
//  - recency is the file's modification time, refreshed on every hit; when
//    the directory grows past its bound, the least recent entries are
//    deleted under an flock() on <dir>/.lock so evictions do not interleave;
//  - temporary files of writers that died are swept during eviction.
// Nothing here aborts a caller: a failing disk turns into misses and errors.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_DISKCACHE_H
#define ADAMAS_RUNTIME_DISKCACHE_H

#include "Hash.h"
#include "Status.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace adamas::rt {

class DiskCache {
public:
  /// Name of the subdirectory of the cache root that holds the entries.
  static constexpr const char *kSubdirectory = "artifacts-v1";

  /// Prepares <root>/artifacts-v1 and checks that a file can be created in
  /// it. Returns null with `problem` set if not.
  static std::unique_ptr<DiskCache> open(const std::string &root,
                                         uint64_t maxBytes,
                                         std::string *problem);

  /// The entries' directory.
  const std::string &directory() const { return directory_; }
  uint64_t maxBytes() const { return maxBytes_; }
  std::string entryPath(const Digest &key) const;

  enum class LookupResult { Hit, Miss, Corrupt };

  /// Reads and validates the entry of `key`. On Hit, `payload` holds its
  /// bytes, `checksum` their SHA-256, and the entry becomes the most recently
  /// used. On Corrupt the entry has been deleted and `problem` says what was
  /// wrong with it. Unreadable entries are Misses with `problem` set.
  LookupResult lookup(const Digest &key, std::vector<uint8_t> *payload,
                      Digest *checksum, std::string *problem);

  /// Writes the entry of `key` atomically, then evicts down to the bound.
  /// `checksum` must be the SHA-256 of the payload.
  Status store(const Digest &key, const void *payload, size_t size,
               const Digest &checksum);

  /// Deletes least recently used entries until the directory holds at most
  /// maxBytes() of entries; sweeps stale temporary files. Returns how many
  /// entries were deleted.
  size_t evict();

  /// The bytes of all entries currently in the directory.
  uint64_t totalEntryBytes() const;

  uint64_t corruptEntriesRemoved() const { return corrupt_.load(); }
  uint64_t entriesWritten() const { return written_.load(); }
  uint64_t entriesEvicted() const { return evicted_.load(); }

  /// Temporary files older than this are considered abandoned by a writer
  /// that died and are removed during eviction.
  static constexpr int64_t kStaleTemporarySeconds = 600;

private:
  DiskCache(std::string directory, uint64_t maxBytes)
      : directory_(std::move(directory)), maxBytes_(maxBytes) {}

  std::string directory_;
  uint64_t maxBytes_;
  std::atomic<uint64_t> corrupt_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> evicted_{0};
};

/// True for "<64 hex digits>.bin", the name of an entry.
bool isEntryFileName(const std::string &name);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_DISKCACHE_H
