//===- ModuleCacheTest.cpp - The in-memory module cache, driver-free ------===//

#include "ModuleCache.h"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <set>
#include <thread>

using namespace adamas::rt;
using adamas::cuda::CUmodule;

namespace {
ModuleKey keyOf(int content, int device = 0, int jitOptLevel = -1) {
  std::string text = "image-" + std::to_string(content);
  ModuleKey key;
  key.content = Sha256::hash(text.data(), text.size());
  key.device = device;
  key.context = reinterpret_cast<adamas::cuda::CUcontext>(uintptr_t(0x1000 + device));
  key.jitOptLevel = jitOptLevel;
  return key;
}

/// Hands out distinct fake module handles and counts loads.
struct CountingLoader {
  std::atomic<int> loads{0};
  std::atomic<uintptr_t> next{0x10};
  ModuleCache::Loader loader(int delayMs = 0) {
    return [this, delayMs](CUmodule *out) {
      ++loads;
      if (delayMs)
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
      *out = reinterpret_cast<CUmodule>(next.fetch_add(0x10));
      return Status::success();
    };
  }
};
} // namespace

TEST(ModuleCache, SameKeyLoadsOnce) {
  ModuleCache cache;
  CountingLoader loader;
  CUmodule first = nullptr, second = nullptr;
  bool hit = true;
  ASSERT_TRUE(cache.acquire(keyOf(1), loader.loader(), &first, &hit).ok());
  EXPECT_FALSE(hit);
  ASSERT_TRUE(cache.acquire(keyOf(1), loader.loader(), &second, &hit).ok());
  EXPECT_TRUE(hit);
  EXPECT_EQ(first, second);
  EXPECT_EQ(loader.loads, 1);
  ModuleCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.driverLoads, 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.resident, 1u);
}

TEST(ModuleCache, DeviceContextAndJitLevelArePartOfTheKey) {
  ModuleCache cache;
  CountingLoader loader;
  std::set<CUmodule> modules;
  for (ModuleKey key : {keyOf(1), keyOf(2), keyOf(1, /*device=*/1),
                        keyOf(1, 0, /*jitOptLevel=*/2)}) {
    CUmodule module = nullptr;
    ASSERT_TRUE(cache.acquire(key, loader.loader(), &module).ok());
    modules.insert(module);
  }
  ModuleKey otherContext = keyOf(1);
  otherContext.context = reinterpret_cast<adamas::cuda::CUcontext>(0x9999);
  CUmodule module = nullptr;
  ASSERT_TRUE(cache.acquire(otherContext, loader.loader(), &module).ok());
  modules.insert(module);
  EXPECT_EQ(loader.loads, 5);
  EXPECT_EQ(modules.size(), 5u);
}

TEST(ModuleCache, FailureIsReturnedAndRetriedLater) {
  ModuleCache cache;
  int attempts = 0;
  ModuleCache::Loader failing = [&](CUmodule *) {
    ++attempts;
    return Status::error(ADAMAS_ERROR_CUDA, "cuModuleLoadData failed: boom");
  };
  CUmodule module = nullptr;
  Status status = cache.acquire(keyOf(1), failing, &module);
  EXPECT_EQ(status.code(), ADAMAS_ERROR_CUDA);
  EXPECT_EQ(status.message(), "cuModuleLoadData failed: boom");
  EXPECT_EQ(cache.stats().resident, 0u);
  CountingLoader loader;
  ASSERT_TRUE(cache.acquire(keyOf(1), loader.loader(), &module).ok());
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(loader.loads, 1);
}

TEST(ModuleCache, ReleaseKeepsModulesUntilTrim) {
  ModuleCache cache;
  CountingLoader loader;
  CUmodule a = nullptr, b = nullptr;
  ASSERT_TRUE(cache.acquire(keyOf(1), loader.loader(), &a).ok());
  ASSERT_TRUE(cache.acquire(keyOf(1), loader.loader(), &a).ok());
  ASSERT_TRUE(cache.acquire(keyOf(2, /*device=*/3), loader.loader(), &b).ok());
  EXPECT_TRUE(cache.release(a));
  EXPECT_TRUE(cache.release(b));
  EXPECT_FALSE(cache.release(b)); // No references left.
  EXPECT_FALSE(cache.release(reinterpret_cast<CUmodule>(0x7)));

  // Released modules stay loaded: acquiring again is a hit.
  bool hit = false;
  ASSERT_TRUE(cache.acquire(keyOf(2, 3), loader.loader(), &b, &hit).ok());
  EXPECT_TRUE(hit);
  EXPECT_TRUE(cache.release(b));
  EXPECT_EQ(loader.loads, 2);

  // Trim unloads only b (a still has a reference), on b's device.
  std::vector<std::pair<CUmodule, int>> unloaded;
  EXPECT_EQ(cache.trim([&](CUmodule m, int device) {
              unloaded.emplace_back(m, device);
            }),
            1u);
  ASSERT_EQ(unloaded.size(), 1u);
  EXPECT_EQ(unloaded[0].first, b);
  EXPECT_EQ(unloaded[0].second, 3);
  EXPECT_FALSE(cache.contains(b));
  EXPECT_TRUE(cache.contains(a));
  int device = -1;
  EXPECT_TRUE(cache.deviceOf(a, &device));
  EXPECT_EQ(device, 0);
  // After a trim the key loads again.
  ASSERT_TRUE(cache.acquire(keyOf(2, 3), loader.loader(), &b, &hit).ok());
  EXPECT_FALSE(hit);
  EXPECT_EQ(loader.loads, 3);
}

TEST(ModuleCache, ManyThreadsLoadEachImageOnce) {
  ModuleCache cache;
  CountingLoader loader;
  constexpr int kThreads = 16, kIterations = 200, kImages = 4;
  std::vector<std::set<CUmodule>> seen(kImages);
  std::mutex seenMutex;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        int image = (t + i) % kImages;
        CUmodule module = nullptr;
        // A slow first load makes the other threads wait on it.
        if (!cache.acquire(keyOf(image), loader.loader(/*delayMs=*/5), &module)
                 .ok()) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(seenMutex);
        seen[image].insert(module);
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(loader.loads, kImages);
  for (int image = 0; image < kImages; ++image)
    EXPECT_EQ(seen[image].size(), 1u) << "image " << image;
  ModuleCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.driverLoads, uint64_t(kImages));
  EXPECT_EQ(stats.hits, uint64_t(kThreads * kIterations - kImages));
}
