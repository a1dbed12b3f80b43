//===- ArtifactCacheTest.cpp - Get-or-compile policy ----------------------===//

#include "ArtifactCache.h"
#include "TestUtilities.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>

using namespace adamas::rt;
using adamas::test::TemporaryDirectory;

namespace {
/// A stand-in compiler: counts calls and "compiles" to fixed bytes.
struct CountingCompiler {
  std::vector<uint8_t> output = {'c', 'u', 'b', 'i', 'n'};
  int calls = 0;
  ArtifactCache::CompileFunction function() {
    return [this](std::vector<uint8_t> *binary) {
      ++calls;
      *binary = output;
      return Status::success();
    };
  }
};

ArtifactCacheOptions optionsFor(const std::string &root) {
  ArtifactCacheOptions options;
  options.root = root;
  options.maxBytes = 1 << 20;
  return options;
}

const Digest kKey = computeArtifactKey("ir", "opts", "sm_90", "test");
} // namespace

TEST(ArtifactCache, CompilesOnceThenServesMemoryThenDisk) {
  TemporaryDirectory root;
  CountingCompiler compiler;
  ArtifactCache::CompileFunction compile = compiler.function();
  std::shared_ptr<const Artifact> artifact;
  ArtifactSource source;
  {
    ArtifactCache cache(optionsFor(root.path()));
    ASSERT_NE(cache.disk(), nullptr);
    ASSERT_TRUE(cache.getOrCompile(kKey, &compile, &artifact, &source).ok());
    EXPECT_EQ(source, ArtifactSource::Compiler);
    EXPECT_EQ(artifact->bytes, compiler.output);
    EXPECT_EQ(artifact->key, kKey);
    EXPECT_EQ(artifact->keyHex, kKey.hex());
    EXPECT_EQ(artifact->contentHash,
              Sha256::hash(compiler.output.data(), compiler.output.size()));

    std::shared_ptr<const Artifact> again;
    ASSERT_TRUE(cache.getOrCompile(kKey, &compile, &again, &source).ok());
    EXPECT_EQ(source, ArtifactSource::Memory);
    EXPECT_EQ(again.get(), artifact.get());
    EXPECT_EQ(compiler.calls, 1);
    ArtifactCache::Stats stats = cache.stats();
    EXPECT_EQ(stats.compiles, 1u);
    EXPECT_EQ(stats.memoryHits, 1u);
    EXPECT_EQ(stats.diskWrites, 1u);
  }
  // A new cache over the same directory (as a new process would be) reads
  // the entry from disk, and needs no compiler for it.
  ArtifactCache fresh(optionsFor(root.path()));
  std::shared_ptr<const Artifact> fromDisk;
  ASSERT_TRUE(fresh.getOrCompile(kKey, nullptr, &fromDisk, &source).ok());
  EXPECT_EQ(source, ArtifactSource::Disk);
  EXPECT_EQ(fromDisk->bytes, compiler.output);
  EXPECT_EQ(fromDisk->contentHash, artifact->contentHash);
  EXPECT_EQ(compiler.calls, 1);
  EXPECT_EQ(fresh.stats().diskHits, 1u);
}

TEST(ArtifactCache, MissWithoutCompilerNamesTheKey) {
  TemporaryDirectory root;
  ArtifactCache cache(optionsFor(root.path()));
  std::shared_ptr<const Artifact> artifact;
  ArtifactSource source;
  Status status = cache.getOrCompile(kKey, nullptr, &artifact, &source);
  EXPECT_EQ(status.code(), ADAMAS_ERROR_NOT_FOUND);
  EXPECT_NE(status.message().find(kKey.hex()), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("no compiler is registered"),
            std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find(root.path()), std::string::npos)
      << status.message();
}

TEST(ArtifactCache, CorruptEntryIsRebuiltNotLoaded) {
  TemporaryDirectory root;
  CountingCompiler compiler;
  ArtifactCache::CompileFunction compile = compiler.function();
  std::shared_ptr<const Artifact> artifact;
  ArtifactSource source;
  {
    ArtifactCache cache(optionsFor(root.path()));
    ASSERT_TRUE(cache.getOrCompile(kKey, &compile, &artifact, &source).ok());
  }
  std::string path =
      root.path() + "/artifacts-v1/" + kKey.hex() + ".bin";
  std::vector<uint8_t> file = adamas::test::readFile(path);
  file.back() ^= 0xff; // Flip the last payload byte.
  adamas::test::writeFile(path, file);

  compiler.output = {'n', 'e', 'w'};
  ArtifactCache cache(optionsFor(root.path()));
  ASSERT_TRUE(cache.getOrCompile(kKey, &compile, &artifact, &source).ok());
  EXPECT_EQ(source, ArtifactSource::Compiler);
  EXPECT_EQ(artifact->bytes, compiler.output); // Never the damaged bytes.
  EXPECT_EQ(compiler.calls, 2);
  EXPECT_EQ(cache.stats().corruptEntries, 1u);

  // The rebuilt entry is valid for the next process.
  ArtifactCache next(optionsFor(root.path()));
  ASSERT_TRUE(next.getOrCompile(kKey, nullptr, &artifact, &source).ok());
  EXPECT_EQ(source, ArtifactSource::Disk);
  EXPECT_EQ(artifact->bytes, compiler.output);
}

TEST(ArtifactCache, CorruptEntryWithoutCompilerIsNotFound) {
  TemporaryDirectory root;
  CountingCompiler compiler;
  ArtifactCache::CompileFunction compile = compiler.function();
  std::shared_ptr<const Artifact> artifact;
  ArtifactSource source;
  {
    ArtifactCache cache(optionsFor(root.path()));
    ASSERT_TRUE(cache.getOrCompile(kKey, &compile, &artifact, &source).ok());
  }
  std::string path = root.path() + "/artifacts-v1/" + kKey.hex() + ".bin";
  adamas::test::writeFile(path, {});
  ArtifactCache cache(optionsFor(root.path()));
  EXPECT_EQ(cache.getOrCompile(kKey, nullptr, &artifact, &source).code(),
            ADAMAS_ERROR_NOT_FOUND);
  EXPECT_FALSE(adamas::test::fileExists(path));
}

TEST(ArtifactCache, UnwritableDirectoryDegradesToMemoryOnly) {
  TemporaryDirectory root;
  std::string blocker = root.path() + "/not-a-directory";
  adamas::test::writeFile(blocker, {0});
  ArtifactCache cache(optionsFor(blocker));
  EXPECT_EQ(cache.disk(), nullptr);
  EXPECT_NE(cache.diskProblem().find(blocker), std::string::npos)
      << cache.diskProblem();

  CountingCompiler compiler;
  ArtifactCache::CompileFunction compile = compiler.function();
  std::shared_ptr<const Artifact> artifact;
  ArtifactSource source;
  ASSERT_TRUE(cache.getOrCompile(kKey, &compile, &artifact, &source).ok());
  EXPECT_EQ(source, ArtifactSource::Compiler);
  ASSERT_TRUE(cache.getOrCompile(kKey, &compile, &artifact, &source).ok());
  EXPECT_EQ(source, ArtifactSource::Memory);
  EXPECT_EQ(compiler.calls, 1);

  std::shared_ptr<const Artifact> missing;
  Status status = cache.getOrCompile(computeArtifactKey("x", "", "", ""),
                                     nullptr, &missing, &source);
  EXPECT_EQ(status.code(), ADAMAS_ERROR_NOT_FOUND);
  EXPECT_NE(status.message().find("disk cache is off"), std::string::npos);
}

TEST(ArtifactCache, DisabledDiskTouchesNothing) {
  TemporaryDirectory root;
  ArtifactCacheOptions options = optionsFor(root.path());
  options.disableDisk = true;
  ArtifactCache cache(options);
  EXPECT_EQ(cache.disk(), nullptr);
  EXPECT_EQ(cache.diskProblem(), "");
  EXPECT_TRUE(adamas::test::listDirectory(root.path()).empty());
}

TEST(ArtifactCache, CompilerFailuresAreReportedWithTheKey) {
  TemporaryDirectory root;
  ArtifactCache cache(optionsFor(root.path()));
  std::shared_ptr<const Artifact> artifact;
  ArtifactSource source;

  ArtifactCache::CompileFunction failing = [](std::vector<uint8_t> *) {
    return Status::error(ADAMAS_ERROR_COMPILE_FAILED, "ptxas exploded");
  };
  Status status = cache.getOrCompile(kKey, &failing, &artifact, &source);
  EXPECT_EQ(status.code(), ADAMAS_ERROR_COMPILE_FAILED);
  EXPECT_NE(status.message().find("ptxas exploded"), std::string::npos);
  EXPECT_NE(status.message().find(kKey.hex()), std::string::npos);

  ArtifactCache::CompileFunction empty = [](std::vector<uint8_t> *binary) {
    binary->clear();
    return Status::success();
  };
  status = cache.getOrCompile(kKey, &empty, &artifact, &source);
  EXPECT_EQ(status.code(), ADAMAS_ERROR_COMPILE_FAILED);
  EXPECT_NE(status.message().find("no binary"), std::string::npos);
  // Failures leave nothing behind.
  EXPECT_FALSE(adamas::test::fileExists(root.path() + "/artifacts-v1/" +
                                        kKey.hex() + ".bin"));
}

TEST(ArtifactCache, DefaultsComeFromTheEnvironment) {
  setenv("ADAMAS_CACHE_DIR", "/some/where", 1);
  EXPECT_EQ(defaultCacheRoot(), "/some/where");
  unsetenv("ADAMAS_CACHE_DIR");
  const char *home = getenv("HOME");
  std::string savedHome = home ? home : "";
  setenv("HOME", "/home/tester", 1);
  EXPECT_EQ(defaultCacheRoot(), "/home/tester/.cache/adamas");
  if (home)
    setenv("HOME", savedHome.c_str(), 1);
  else
    unsetenv("HOME");

  setenv("ADAMAS_CACHE_MAX_BYTES", "12345", 1);
  EXPECT_EQ(defaultCacheMaxBytes(), 12345u);
  setenv("ADAMAS_CACHE_MAX_BYTES", "12k", 1);
  EXPECT_EQ(defaultCacheMaxBytes(), uint64_t(1) << 30);
  unsetenv("ADAMAS_CACHE_MAX_BYTES");
  EXPECT_EQ(defaultCacheMaxBytes(), uint64_t(1) << 30);
}

TEST(ArtifactCache, ThreadsShareOneCache) {
  TemporaryDirectory root;
  ArtifactCache cache(optionsFor(root.path()));
  constexpr int kThreads = 8, kKeys = 3, kRounds = 50;
  std::atomic<int> compiles{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        int index = (t + round) % kKeys;
        std::vector<uint8_t> expected =
            adamas::test::pseudoRandomBytes(3000, uint64_t(index));
        ArtifactCache::CompileFunction compile =
            [&](std::vector<uint8_t> *binary) {
              ++compiles;
              *binary = expected;
              return Status::success();
            };
        std::shared_ptr<const Artifact> artifact;
        ArtifactSource source;
        Digest key = computeArtifactKey(std::to_string(index), "", "", "");
        if (!cache.getOrCompile(key, &compile, &artifact, &source).ok() ||
            artifact->bytes != expected)
          ++wrong;
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(wrong, 0);
  // Concurrent first misses may each compile (documented); never more than
  // one per thread and key, and afterwards everything is a memory hit.
  EXPECT_GE(compiles, kKeys);
  EXPECT_LE(compiles, kThreads * kKeys);
  EXPECT_EQ(cache.stats().memoryHits + uint64_t(compiles.load()) +
                cache.stats().diskHits,
            uint64_t(kThreads * kRounds));
}
