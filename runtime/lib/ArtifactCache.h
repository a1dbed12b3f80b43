//===- ArtifactCache.h - Get-or-compile over memory and disk ----*- C++ -*-===//
//
// The policy on top of DiskCache: an artifact is looked up in this process's
// memory, then on disk, and only then compiled, by a callback the caller
// provides (the compiler library or the Python package; the runtime itself
// has no compiler). A fresh artifact is written to disk for the next process.
// A directory that cannot be used makes the cache warn once and run from
// memory alone; a failed write warns and carries on.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_ARTIFACTCACHE_H
#define ADAMAS_RUNTIME_ARTIFACTCACHE_H

#include "DiskCache.h"
#include "Hash.h"
#include "Status.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace adamas::rt {

/// SHA-256 over "adamas.artifact.v1" and the four fields, each length-prefixed
/// (see adamas_artifact_key() in adamas/runtime.h).
Digest computeArtifactKey(std::string_view ir, std::string_view pipelineOptions,
                          std::string_view chip,
                          std::string_view compilerVersion);

/// A compiled artifact, immutable once built.
struct Artifact {
  Digest key;
  std::string keyHex;
  /// SHA-256 of `bytes`: the module cache key of this artifact's contents.
  Digest contentHash;
  std::vector<uint8_t> bytes;
};

enum class ArtifactSource { Memory, Disk, Compiler };

struct ArtifactCacheOptions {
  /// Cache root; empty: $ADAMAS_CACHE_DIR, else $HOME/.cache/adamas.
  std::string root;
  /// Disk bound in bytes; 0: $ADAMAS_CACHE_MAX_BYTES, else 1 GiB.
  uint64_t maxBytes = 0;
  bool disableDisk = false;
};

/// The default cache root, from the environment as documented above; empty
/// if neither ADAMAS_CACHE_DIR nor a home directory is known.
std::string defaultCacheRoot();
/// The default bound: $ADAMAS_CACHE_MAX_BYTES if a positive integer, else
/// 1 GiB.
uint64_t defaultCacheMaxBytes();

class ArtifactCache {
public:
  /// Produces the artifact's bytes on a miss.
  using CompileFunction = std::function<Status(std::vector<uint8_t> *binary)>;

  explicit ArtifactCache(const ArtifactCacheOptions &options);

  /// The disk part, or null when running memory-only.
  DiskCache *disk() const { return disk_.get(); }
  /// Why the disk part is off ("" when it is on or was disabled on purpose).
  const std::string &diskProblem() const { return diskProblem_; }

  /// The artifact of `key` from memory, disk, or `compile` (may be null:
  /// then a miss is an ADAMAS_ERROR_NOT_FOUND naming the key).
  Status getOrCompile(const Digest &key, const CompileFunction *compile,
                      std::shared_ptr<const Artifact> *out,
                      ArtifactSource *source);

  struct Stats {
    uint64_t memoryHits = 0, diskHits = 0, diskMisses = 0, compiles = 0;
    uint64_t corruptEntries = 0, diskWrites = 0, evictions = 0;
  };
  Stats stats() const;

private:
  std::shared_ptr<const Artifact> remember(std::shared_ptr<Artifact> artifact);

  std::unique_ptr<DiskCache> disk_;
  std::string diskProblem_;

  mutable std::mutex mutex_;
  std::unordered_map<Digest, std::shared_ptr<const Artifact>, DigestHasher>
      memory_;
  std::atomic<uint64_t> memoryHits_{0}, diskHits_{0}, diskMisses_{0},
      compiles_{0};
};

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_ARTIFACTCACHE_H
