//===- CacheConcurrencyTest.cpp - Several processes on one cache ----------===//
//
// Forked processes (not threads: each has its own ArtifactCache, as separate
// Python processes would) hammer one cache directory. Each child checks what
// it reads against what it expects and reports through its exit status.
//
//===----------------------------------------------------------------------===//

#include "ArtifactCache.h"
#include "CacheEntryFormat.h"
#include "DiskCache.h"
#include "TestUtilities.h"

#include <gtest/gtest.h>

using namespace adamas::rt;
using adamas::test::TemporaryDirectory;

namespace {
constexpr int kProcesses = 8;
constexpr int kKeys = 4;

Digest keyOf(int index) {
  return computeArtifactKey("ir-" + std::to_string(index), "", "sm_90", "t");
}

std::vector<uint8_t> payloadOf(int index) {
  // Big enough that a write takes several write() calls' worth of time.
  return adamas::test::pseudoRandomBytes(64 * 1024 + size_t(index) * 1000,
                                         uint64_t(index) + 1);
}

struct SharedCache {
  std::string root;
  uint64_t maxBytes;
  int rounds;
};

/// Every child gets or compiles every key many times through a fresh cache
/// (so each round goes to the disk) and checks the bytes.
int getOrCompileEverywhere(int child, void *context) {
  const SharedCache &setup = *static_cast<SharedCache *>(context);
  for (int round = 0; round < setup.rounds; ++round) {
    ArtifactCacheOptions options;
    options.root = setup.root;
    options.maxBytes = setup.maxBytes;
    ArtifactCache cache(options);
    if (!cache.disk())
      return 2;
    for (int k = 0; k < kKeys; ++k) {
      int index = (k + child + round) % kKeys;
      ArtifactCache::CompileFunction compile = [&](std::vector<uint8_t> *out) {
        *out = payloadOf(index);
        return Status::success();
      };
      std::shared_ptr<const Artifact> artifact;
      ArtifactSource source;
      if (!cache.getOrCompile(keyOf(index), &compile, &artifact, &source).ok())
        return 3;
      if (artifact->bytes != payloadOf(index))
        return 4;
    }
    if (cache.stats().corruptEntries != 0)
      return 5; // A reader saw a half-written or damaged entry.
  }
  return 0;
}

/// Half the children rewrite one key as fast as they can, the other half
/// read it; a reader must only ever see a complete, valid entry or none.
int storeOrLookupOneKey(int child, void *context) {
  const SharedCache &setup = *static_cast<SharedCache *>(context);
  std::string problem;
  std::unique_ptr<DiskCache> cache =
      DiskCache::open(setup.root, setup.maxBytes, &problem);
  if (!cache)
    return 2;
  std::vector<uint8_t> payload = payloadOf(0);
  Digest checksum = Sha256::hash(payload.data(), payload.size());
  for (int round = 0; round < setup.rounds; ++round) {
    if (child % 2 == 0) {
      if (!cache->store(keyOf(0), payload.data(), payload.size(), checksum).ok())
        return 3;
    } else {
      std::vector<uint8_t> read;
      Digest readChecksum;
      switch (cache->lookup(keyOf(0), &read, &readChecksum, &problem)) {
      case DiskCache::LookupResult::Corrupt:
        return 4;
      case DiskCache::LookupResult::Hit:
        if (read != payload)
          return 5;
        break;
      case DiskCache::LookupResult::Miss:
        break;
      }
    }
  }
  return 0;
}

/// Entries left in a directory must all be valid, and no temporaries.
void expectCleanDirectory(const std::string &directory) {
  for (const std::string &name : adamas::test::listDirectory(directory)) {
    if (name == ".lock")
      continue;
    ASSERT_TRUE(isEntryFileName(name)) << "stray file " << name;
    Digest key, checksum;
    ASSERT_TRUE(Digest::fromHex(name.substr(0, 64), &key));
    std::vector<uint8_t> file = adamas::test::readFile(directory + "/" + name);
    std::string problem;
    EXPECT_TRUE(validateEntry(file.data(), file.size(), key, &checksum,
                              &problem))
        << name << ": " << problem;
  }
}
} // namespace

TEST(CacheConcurrency, ProcessesGettingAndCompilingTheSameKeys) {
  TemporaryDirectory root;
  SharedCache setup{root.path(), uint64_t(1) << 30, 10};
  EXPECT_EQ(adamas::test::runInChildren(kProcesses, getOrCompileEverywhere,
                                        &setup),
            kProcesses);
  std::string directory = root.path() + "/artifacts-v1";
  expectCleanDirectory(directory);
  EXPECT_EQ(adamas::test::listDirectory(directory).size(), size_t(kKeys) + 1);
}

TEST(CacheConcurrency, ProcessesRacingRenamesAgainstReaders) {
  TemporaryDirectory root;
  SharedCache setup{root.path(), uint64_t(1) << 30, 200};
  EXPECT_EQ(adamas::test::runInChildren(kProcesses, storeOrLookupOneKey,
                                        &setup),
            kProcesses);
  expectCleanDirectory(root.path() + "/artifacts-v1");
}

TEST(CacheConcurrency, ProcessesEvictingWhileOthersRead) {
  TemporaryDirectory root;
  // Room for about two of the four entries: every store evicts something
  // another process may be reading.
  SharedCache setup{root.path(), 2 * (64 * 1024 + 3000 + kEntryHeaderSize), 10};
  EXPECT_EQ(adamas::test::runInChildren(kProcesses, getOrCompileEverywhere,
                                        &setup),
            kProcesses);
  std::string directory = root.path() + "/artifacts-v1";
  expectCleanDirectory(directory);
  std::string problem;
  std::unique_ptr<DiskCache> cache =
      DiskCache::open(root.path(), setup.maxBytes, &problem);
  ASSERT_TRUE(cache) << problem;
  EXPECT_LE(cache->totalEntryBytes(), setup.maxBytes);
}
