//===- ArtifactCache.cpp - Get-or-compile over memory and disk ------------===//

#include "ArtifactCache.h"

#include "Diagnostics.h"
#include "FileSystem.h"

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>

namespace adamas::rt {

namespace {
constexpr uint64_t kDefaultMaxBytes = uint64_t(1) << 30;
constexpr char kKeyDomain[] = "adamas.artifact.v1";
} // namespace

Digest computeArtifactKey(std::string_view ir, std::string_view pipelineOptions,
                          std::string_view chip,
                          std::string_view compilerVersion) {
  Sha256 sha;
  sha.update(kKeyDomain, sizeof(kKeyDomain) - 1);
  sha.updateField(ir.data(), ir.size());
  sha.updateField(pipelineOptions.data(), pipelineOptions.size());
  sha.updateField(chip.data(), chip.size());
  sha.updateField(compilerVersion.data(), compilerVersion.size());
  return sha.finish();
}

std::string defaultCacheRoot() {
  const char *explicitDir = std::getenv("ADAMAS_CACHE_DIR");
  if (explicitDir && *explicitDir)
    return explicitDir;
  const char *home = std::getenv("HOME");
  if (!home || !*home) {
    struct passwd *user = getpwuid(getuid());
    home = user ? user->pw_dir : nullptr;
  }
  if (!home || !*home)
    return "";
  return joinPath(joinPath(home, ".cache"), "adamas");
}

uint64_t defaultCacheMaxBytes() {
  const char *text = std::getenv("ADAMAS_CACHE_MAX_BYTES");
  if (text && *text) {
    char *end = nullptr;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (end && *end == '\0' && value > 0)
      return value;
    warn("ignoring ADAMAS_CACHE_MAX_BYTES='" + std::string(text) +
         "': not a positive integer");
  }
  return kDefaultMaxBytes;
}

ArtifactCache::ArtifactCache(const ArtifactCacheOptions &options) {
  if (options.disableDisk)
    return;
  std::string root = options.root.empty() ? defaultCacheRoot() : options.root;
  uint64_t maxBytes =
      options.maxBytes ? options.maxBytes : defaultCacheMaxBytes();
  if (root.empty())
    diskProblem_ = "no cache directory: set ADAMAS_CACHE_DIR or HOME";
  else
    disk_ = DiskCache::open(root, maxBytes, &diskProblem_);
  if (!disk_)
    warn("artifact cache is memory-only: " + diskProblem_);
}

std::shared_ptr<const Artifact>
ArtifactCache::remember(std::shared_ptr<Artifact> artifact) {
  std::lock_guard<std::mutex> lock(mutex_);
  // A concurrent miss on the same key may have got here first; keep one.
  auto inserted = memory_.emplace(artifact->key, std::move(artifact));
  return inserted.first->second;
}

Status ArtifactCache::getOrCompile(const Digest &key,
                                   const CompileFunction *compile,
                                   std::shared_ptr<const Artifact> *out,
                                   ArtifactSource *source) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = memory_.find(key);
    if (found != memory_.end()) {
      ++memoryHits_;
      *out = found->second;
      *source = ArtifactSource::Memory;
      return Status::success();
    }
  }

  auto artifact = std::make_shared<Artifact>();
  artifact->key = key;
  artifact->keyHex = key.hex();

  if (disk_) {
    std::string problem;
    switch (disk_->lookup(key, &artifact->bytes, &artifact->contentHash,
                          &problem)) {
    case DiskCache::LookupResult::Hit:
      ++diskHits_;
      logVerbose("artifact " + artifact->keyHex + " from disk (" +
                 std::to_string(artifact->bytes.size()) + " bytes)");
      *out = remember(std::move(artifact));
      *source = ArtifactSource::Disk;
      return Status::success();
    case DiskCache::LookupResult::Corrupt:
      warn(problem + "; rebuilding it");
      break;
    case DiskCache::LookupResult::Miss:
      if (!problem.empty())
        warn(problem);
      break;
    }
    ++diskMisses_;
  }

  if (!compile || !*compile) {
    std::string where = disk_ ? "not in memory nor in the disk cache '" +
                                    disk_->directory() + "'"
                              : "not in memory (the disk cache is off)";
    return Status::error(ADAMAS_ERROR_NOT_FOUND,
                         "no compiled artifact for key " + artifact->keyHex +
                             ": " + where +
                             ", and no compiler is registered to build it");
  }

  Status status = (*compile)(&artifact->bytes);
  if (!status.ok())
    return Status::error(status.code(), "compiling artifact " +
                                            artifact->keyHex + ": " +
                                            status.message());
  if (artifact->bytes.empty())
    return Status::error(ADAMAS_ERROR_COMPILE_FAILED,
                         "compiling artifact " + artifact->keyHex +
                             ": the compiler returned no binary");
  ++compiles_;
  artifact->contentHash =
      Sha256::hash(artifact->bytes.data(), artifact->bytes.size());
  logVerbose("artifact " + artifact->keyHex + " compiled (" +
             std::to_string(artifact->bytes.size()) + " bytes)");

  if (disk_) {
    Status stored = disk_->store(key, artifact->bytes.data(),
                                 artifact->bytes.size(), artifact->contentHash);
    if (!stored.ok())
      warn("artifact " + artifact->keyHex +
           " kept in memory only: " + stored.message());
  }
  *out = remember(std::move(artifact));
  *source = ArtifactSource::Compiler;
  return Status::success();
}

ArtifactCache::Stats ArtifactCache::stats() const {
  Stats result;
  result.memoryHits = memoryHits_.load();
  result.diskHits = diskHits_.load();
  result.diskMisses = diskMisses_.load();
  result.compiles = compiles_.load();
  if (disk_) {
    result.corruptEntries = disk_->corruptEntriesRemoved();
    result.diskWrites = disk_->entriesWritten();
    result.evictions = disk_->entriesEvicted();
  }
  return result;
}

} // namespace adamas::rt
