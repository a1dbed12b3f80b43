//===- DiskCacheTest.cpp - Entries on disk: hits, corruption, eviction ----===//

#include "CacheEntryFormat.h"
#include "DiskCache.h"
#include "FileSystem.h"
#include "TestUtilities.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace adamas::rt;
using adamas::test::TemporaryDirectory;

namespace {
Digest keyOf(int index) {
  std::string name = "key-" + std::to_string(index);
  return Sha256::hash(name.data(), name.size());
}

class DiskCacheTest : public ::testing::Test {
protected:
  void SetUp() override { openCache(uint64_t(1) << 30); }

  void openCache(uint64_t maxBytes) {
    std::string problem;
    cache = DiskCache::open(root.path(), maxBytes, &problem);
    ASSERT_TRUE(cache) << problem;
  }

  void store(const Digest &key, const std::vector<uint8_t> &payload) {
    Status status =
        cache->store(key, payload.data(), payload.size(),
                     Sha256::hash(payload.data(), payload.size()));
    ASSERT_TRUE(status.ok()) << status.message();
  }

  DiskCache::LookupResult lookup(const Digest &key,
                                 std::vector<uint8_t> *payload,
                                 std::string *problem = nullptr) {
    Digest checksum;
    std::string ignored;
    return cache->lookup(key, payload, &checksum, problem ? problem : &ignored);
  }

  TemporaryDirectory root;
  std::unique_ptr<DiskCache> cache;
};
} // namespace

TEST_F(DiskCacheTest, StoresUnderTheKeyInAVersionedDirectory) {
  EXPECT_EQ(cache->directory(), root.path() + "/artifacts-v1");
  EXPECT_TRUE(adamas::test::fileExists(root.path() + "/CACHEDIR.TAG"));
  std::vector<uint8_t> payload = adamas::test::pseudoRandomBytes(1000, 1);
  store(keyOf(1), payload);
  std::string path = cache->directory() + "/" + keyOf(1).hex() + ".bin";
  EXPECT_EQ(cache->entryPath(keyOf(1)), path);
  std::vector<uint8_t> file = adamas::test::readFile(path);
  ASSERT_EQ(file.size(), kEntryHeaderSize + payload.size());
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(),
                         file.begin() + kEntryHeaderSize));
  // Nothing but the entry and the lock file remain: no temporaries.
  for (const std::string &name : adamas::test::listDirectory(cache->directory()))
    EXPECT_TRUE(name == keyOf(1).hex() + ".bin" || name == ".lock") << name;
}

TEST_F(DiskCacheTest, HitReturnsThePayloadAndMissIsAMiss) {
  std::vector<uint8_t> payload = adamas::test::pseudoRandomBytes(4096, 2);
  store(keyOf(1), payload);
  std::vector<uint8_t> read;
  Digest checksum;
  std::string problem;
  ASSERT_EQ(cache->lookup(keyOf(1), &read, &checksum, &problem),
            DiskCache::LookupResult::Hit);
  EXPECT_EQ(read, payload);
  EXPECT_EQ(checksum, Sha256::hash(payload.data(), payload.size()));
  EXPECT_EQ(lookup(keyOf(2), &read, &problem), DiskCache::LookupResult::Miss);
  EXPECT_EQ(problem, "");
}

TEST_F(DiskCacheTest, ReplacingAnEntryKeepsTheNewOne) {
  store(keyOf(1), {1, 2, 3});
  store(keyOf(1), {4, 5, 6, 7});
  std::vector<uint8_t> read;
  ASSERT_EQ(lookup(keyOf(1), &read), DiskCache::LookupResult::Hit);
  EXPECT_EQ(read, (std::vector<uint8_t>{4, 5, 6, 7}));
}

namespace {
/// Damages an entry file; each returns the damaged contents to write.
struct Damage {
  const char *name;
  std::vector<uint8_t> (*apply)(std::vector<uint8_t>);
  const char *expectedProblem;
};

const Damage kDamages[] = {
    {"truncated to half",
     [](std::vector<uint8_t> f) {
       f.resize(f.size() / 2);
       return f;
     },
     "size mismatch"},
    {"truncated inside the header",
     [](std::vector<uint8_t> f) {
       f.resize(50);
       return f;
     },
     "truncated: 50 bytes"},
    {"zero length", [](std::vector<uint8_t>) { return std::vector<uint8_t>(); },
     "empty file"},
    {"payload byte flipped",
     [](std::vector<uint8_t> f) {
       f[f.size() - 100] ^= 0x10;
       return f;
     },
     "checksum mismatch"},
    {"header byte flipped",
     [](std::vector<uint8_t> f) {
       f[3] ^= 0x01;
       return f;
     },
     "bad magic"},
    {"garbage",
     [](std::vector<uint8_t>) {
       return adamas::test::pseudoRandomBytes(5000, 99);
     },
     "bad magic"},
};
} // namespace

TEST_F(DiskCacheTest, DetectsRemovesAndRebuildsCorruptEntries) {
  std::vector<uint8_t> payload = adamas::test::pseudoRandomBytes(2000, 3);
  for (const Damage &damage : kDamages) {
    SCOPED_TRACE(damage.name);
    store(keyOf(1), payload);
    std::string path = cache->entryPath(keyOf(1));
    adamas::test::writeFile(path, damage.apply(adamas::test::readFile(path)));

    std::vector<uint8_t> read;
    std::string problem;
    EXPECT_EQ(lookup(keyOf(1), &read, &problem),
              DiskCache::LookupResult::Corrupt);
    EXPECT_NE(problem.find(damage.expectedProblem), std::string::npos)
        << problem;
    EXPECT_NE(problem.find(path), std::string::npos) << problem;
    EXPECT_TRUE(read.empty());
    EXPECT_FALSE(adamas::test::fileExists(path));
    // The next lookup is a plain miss, and a rebuilt entry is a hit.
    EXPECT_EQ(lookup(keyOf(1), &read), DiskCache::LookupResult::Miss);
    store(keyOf(1), payload);
    ASSERT_EQ(lookup(keyOf(1), &read), DiskCache::LookupResult::Hit);
    EXPECT_EQ(read, payload);
  }
  EXPECT_EQ(cache->corruptEntriesRemoved(), std::size(kDamages));
}

TEST_F(DiskCacheTest, EntryUnderTheWrongNameIsRejected) {
  store(keyOf(1), {1, 2, 3});
  ASSERT_EQ(rename(cache->entryPath(keyOf(1)).c_str(),
                   cache->entryPath(keyOf(2)).c_str()),
            0);
  std::vector<uint8_t> read;
  std::string problem;
  EXPECT_EQ(lookup(keyOf(2), &read, &problem),
            DiskCache::LookupResult::Corrupt);
  EXPECT_NE(problem.find("another key"), std::string::npos) << problem;
}

TEST_F(DiskCacheTest, EvictsLeastRecentlyUsedBeyondTheBound) {
  // Room for exactly three 1000-byte entries.
  openCache(3 * (kEntryHeaderSize + 1000));
  for (int i = 1; i <= 3; ++i)
    store(keyOf(i), adamas::test::pseudoRandomBytes(1000, uint64_t(i)));
  std::vector<uint8_t> read;
  // Use 1 so that 2 becomes the least recently used.
  ASSERT_EQ(lookup(keyOf(1), &read), DiskCache::LookupResult::Hit);
  store(keyOf(4), adamas::test::pseudoRandomBytes(1000, 4));

  EXPECT_EQ(cache->entriesEvicted(), 1u);
  EXPECT_EQ(lookup(keyOf(2), &read), DiskCache::LookupResult::Miss);
  for (int i : {1, 3, 4})
    EXPECT_EQ(lookup(keyOf(i), &read), DiskCache::LookupResult::Hit) << i;
  EXPECT_LE(cache->totalEntryBytes(), cache->maxBytes());

  // The lookups above used 1, 3, 4 in that order, so two more entries push
  // out 1 and then 3.
  store(keyOf(5), adamas::test::pseudoRandomBytes(1000, 5));
  store(keyOf(6), adamas::test::pseudoRandomBytes(1000, 6));
  EXPECT_EQ(lookup(keyOf(1), &read), DiskCache::LookupResult::Miss);
  EXPECT_EQ(lookup(keyOf(3), &read), DiskCache::LookupResult::Miss);
  for (int i : {4, 5, 6})
    EXPECT_EQ(lookup(keyOf(i), &read), DiskCache::LookupResult::Hit) << i;
}

TEST_F(DiskCacheTest, RefusesAnArtifactLargerThanTheBound) {
  openCache(1000);
  std::vector<uint8_t> big(2000, 7);
  Status status = cache->store(keyOf(1), big.data(), big.size(),
                               Sha256::hash(big.data(), big.size()));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("larger than the cache bound"),
            std::string::npos);
  EXPECT_FALSE(adamas::test::fileExists(cache->entryPath(keyOf(1))));
}

TEST_F(DiskCacheTest, SweepsStaleTemporariesAndLeavesOtherFilesAlone) {
  std::string stale = cache->directory() + "/.tmp-0123456789abcdef-1-1-1";
  std::string fresh = cache->directory() + "/.tmp-0123456789abcdef-2-2-2";
  std::string foreign = cache->directory() + "/notes.txt";
  adamas::test::writeFile(stale, {1});
  adamas::test::writeFile(fresh, {2});
  adamas::test::writeFile(foreign, std::vector<uint8_t>(100000, 3));
  adamas::test::setAge(stale, DiskCache::kStaleTemporarySeconds + 60);
  openCache(1); // Everything is over the bound.
  EXPECT_EQ(cache->evict(), 0u); // There are no entries to evict...
  EXPECT_FALSE(adamas::test::fileExists(stale)); // ...but the sweep ran.
  EXPECT_TRUE(adamas::test::fileExists(fresh)); // a writer may still own it
  EXPECT_TRUE(adamas::test::fileExists(foreign)); // not ours to delete
}

TEST_F(DiskCacheTest, GarbageInTheCacheDirectoryIsHarmless) {
  // There is no manifest to corrupt: the only shared files are the lock
  // (whose contents nobody reads) and CACHEDIR.TAG. Junk in either, or a
  // directory where an entry should be, changes nothing.
  adamas::test::writeFile(cache->directory() + "/.lock",
                          adamas::test::pseudoRandomBytes(1000, 7));
  adamas::test::writeFile(root.path() + "/CACHEDIR.TAG", {0xff, 0x00});
  ASSERT_EQ(mkdir(cache->entryPath(keyOf(9)).c_str(), 0755), 0);
  openCache(2 * (kEntryHeaderSize + 100));
  for (int i = 1; i <= 3; ++i)
    store(keyOf(i), adamas::test::pseudoRandomBytes(100, uint64_t(i)));
  std::vector<uint8_t> read;
  EXPECT_EQ(lookup(keyOf(1), &read), DiskCache::LookupResult::Miss); // evicted
  ASSERT_EQ(lookup(keyOf(3), &read), DiskCache::LookupResult::Hit);
  EXPECT_EQ(read, adamas::test::pseudoRandomBytes(100, 3));
  // The directory squatting on key 9's name reads as a miss, and a store
  // under that key fails cleanly instead of clobbering it.
  EXPECT_EQ(lookup(keyOf(9), &read), DiskCache::LookupResult::Miss);
  std::vector<uint8_t> payload = {1, 2, 3};
  Status status = cache->store(keyOf(9), payload.data(), payload.size(),
                               Sha256::hash(payload.data(), payload.size()));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot rename into"), std::string::npos)
      << status.message();
}

TEST(DiskCacheOpen, FailsWhenTheDirectoryCannotBeCreated) {
  TemporaryDirectory root;
  // A regular file where a directory should be: fails even for root.
  std::string blocker = root.path() + "/file";
  adamas::test::writeFile(blocker, {1});
  std::string problem;
  EXPECT_EQ(DiskCache::open(blocker + "/cache", 1 << 20, &problem), nullptr);
  EXPECT_NE(problem.find(blocker), std::string::npos) << problem;
}

TEST(DiskCacheOpen, FailsWhenTheDirectoryIsNotWritable) {
  if (geteuid() == 0)
    GTEST_SKIP() << "permission bits do not bind root";
  TemporaryDirectory root;
  ASSERT_EQ(mkdir((root.path() + "/cache").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root.path() + "/cache/artifacts-v1").c_str(), 0555), 0);
  std::string problem;
  EXPECT_EQ(DiskCache::open(root.path() + "/cache", 1 << 20, &problem),
            nullptr);
  EXPECT_NE(problem.find("cannot create files in"), std::string::npos)
      << problem;
}

TEST(EntryFileName, RecognizesOnlyEntries) {
  EXPECT_TRUE(isEntryFileName(std::string(64, 'a') + ".bin"));
  EXPECT_FALSE(isEntryFileName(std::string(64, 'A') + ".bin"));
  EXPECT_FALSE(isEntryFileName(std::string(63, 'a') + ".bin"));
  EXPECT_FALSE(isEntryFileName(std::string(64, 'a') + ".tmp"));
  EXPECT_FALSE(isEntryFileName(".lock"));
}

TEST(LruTimestamp, StrictlyIncreases) {
  struct timespec previous = nextLruTimestamp();
  for (int i = 0; i < 10000; ++i) {
    struct timespec next = nextLruTimestamp();
    ASSERT_TRUE(next.tv_sec > previous.tv_sec ||
                (next.tv_sec == previous.tv_sec &&
                 next.tv_nsec > previous.tv_nsec));
    previous = next;
  }
}
