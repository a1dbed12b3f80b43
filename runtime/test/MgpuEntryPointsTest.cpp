//===- MgpuEntryPointsTest.cpp - mgpu* against the fake driver ------------===//
//
// The process driver is the fake (TestMain.cpp). Counts are compared as
// differences, since the module cache and the fake live for the whole
// process and other tests may have used them.
//
//===----------------------------------------------------------------------===//

#include "adamas/mgpu.h"
#include "adamas/runtime.h"

#include "CudaDriverApi.h"
#include "FakeCudaDriverControl.h"
#include "TestUtilities.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <set>
#include <thread>

namespace {
/// A NUL-terminated fake image naming kernels k0..k2, with contents no
/// earlier call produced (so its first load is a miss even on --gtest_repeat).
std::string fakeImage(const std::string &tag) {
  return "FAKE:" + tag + adamas::test::uniqueSuffix() + ";kernels=k0,k1,k2";
}

void *load(const std::string &image) {
  return mgpuModuleLoad(const_cast<char *>(image.c_str()), image.size() + 1);
}

std::string lastError() { return adamas_runtime_last_error(); }

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

uint64_t cudaErrors() {
  adamas_runtime_stats_t stats;
  stats.struct_size = sizeof(stats);
  adamas_runtime_get_stats(nullptr, &stats);
  return stats.cuda_errors;
}

class MgpuTest : public ::testing::Test {
protected:
  void SetUp() override {
    fakecuda_reset();
    mgpuSetDefaultDevice(0);
  }
  void TearDown() override {
    // Every entry point must leave the thread's context stack as it found it.
    EXPECT_EQ(fakecuda_context_depth(), 0u);
  }
};

/// A ranked memref descriptor as MLIR lays it out.
template <int Rank> struct MemRef {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};
} // namespace

TEST_F(MgpuTest, LoadingTheSameImageAgainHitsTheCache) {
  std::string image = fakeImage("same-image");
  void *first = load(image);
  ASSERT_NE(first, nullptr) << lastError();
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(load(image), first);
  // A copy at another address is the same content, hence the same module.
  std::string copy = image;
  EXPECT_EQ(load(copy), first);
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadData"), 1u);
  void *other = load(fakeImage("other-image"));
  EXPECT_NE(other, first);
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadData"), 2u);
}

TEST_F(MgpuTest, UnloadReleasesAndTrimUnloads) {
  std::string image = fakeImage("unload-image");
  size_t before = fakecuda_loaded_modules();
  void *module = load(image);
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(fakecuda_loaded_modules(), before + 1);
  mgpuModuleUnload(module);
  // Still loaded: the next load is a hit, not a driver load.
  EXPECT_EQ(fakecuda_loaded_modules(), before + 1);
  EXPECT_EQ(load(image), module);
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadData"), 1u);
  mgpuModuleUnload(module);
  // Trim unloads every module nobody holds (ours, and any that other tests
  // released), each with one cuModuleUnload.
  size_t trimmed = adamas_module_cache_trim();
  EXPECT_GE(trimmed, 1u);
  EXPECT_EQ(fakecuda_call_count("cuModuleUnload"), trimmed);
  EXPECT_LT(fakecuda_loaded_modules(), before + 1);
  // Loading after the trim goes to the driver again.
  void *again = load(image);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadData"), 2u);
  mgpuModuleUnload(again);
}

// The fake's own entry points, to make a module behind the runtime's back.
extern "C" {
int cuDevicePrimaryCtxRetain(adamas::cuda::CUcontext *, int);
int cuCtxPushCurrent_v2(adamas::cuda::CUcontext);
int cuCtxPopCurrent_v2(adamas::cuda::CUcontext *);
int cuModuleLoadData(adamas::cuda::CUmodule *, const void *);
}

TEST_F(MgpuTest, UnloadingAForeignModuleGoesToTheDriver) {
  adamas::cuda::CUcontext context = nullptr;
  adamas::cuda::CUmodule module = nullptr;
  std::string image = fakeImage("foreign");
  ASSERT_EQ(cuDevicePrimaryCtxRetain(&context, 0), 0);
  ASSERT_EQ(cuCtxPushCurrent_v2(context), 0);
  ASSERT_EQ(cuModuleLoadData(&module, image.c_str()), 0);
  ASSERT_EQ(cuCtxPopCurrent_v2(nullptr), 0);
  size_t loaded = fakecuda_loaded_modules();
  mgpuModuleUnload(module);
  EXPECT_EQ(fakecuda_call_count("cuModuleUnload"), 1u) << lastError();
  EXPECT_EQ(fakecuda_loaded_modules(), loaded - 1);
  // Unloading it again is the driver's error, reported as such.
  mgpuModuleUnload(module);
  EXPECT_EQ(lastError(), "mgpuModuleUnload: cuModuleUnload failed: "
                         "CUDA_ERROR_INVALID_HANDLE (invalid resource handle)");
}

TEST_F(MgpuTest, ManyThreadsLoadEachImageOnce) {
  constexpr int kThreads = 16, kIterations = 50, kImages = 4;
  std::vector<std::string> images;
  for (int i = 0; i < kImages; ++i)
    images.push_back(fakeImage("threaded-" + std::to_string(i)));
  std::vector<std::set<void *>> seen(kImages);
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        int image = (t * 7 + i) % kImages;
        void *module = load(images[image]);
        std::lock_guard<std::mutex> lock(mutex);
        seen[image].insert(module);
      }
      EXPECT_EQ(fakecuda_context_depth(), 0u);
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadData"), uint64_t(kImages));
  for (int image = 0; image < kImages; ++image) {
    ASSERT_EQ(seen[image].size(), 1u);
    EXPECT_NE(*seen[image].begin(), nullptr);
  }
}

TEST_F(MgpuTest, LoadFailureNamesTheEntryPointCallAndError) {
  uint64_t errorsBefore = cudaErrors();
  std::string image = fakeImage("failing-image");
  fakecuda_fail_next("cuModuleLoadData", 200); // CUDA_ERROR_INVALID_IMAGE
  EXPECT_EQ(load(image), nullptr);
  EXPECT_EQ(lastError(), "mgpuModuleLoad: cuModuleLoadData failed: "
                         "CUDA_ERROR_INVALID_IMAGE (device kernel image is "
                         "invalid)");
  EXPECT_EQ(cudaErrors(), errorsBefore + 1);
  // The failure was not cached: the same image loads on the next try.
  EXPECT_NE(load(image), nullptr) << lastError();
  // An image the "driver" rejects by content.
  EXPECT_EQ(load("FAKE:FAKE-BAD"), nullptr);
  EXPECT_TRUE(contains(lastError(), "CUDA_ERROR_INVALID_IMAGE")) << lastError();
  // A null image never reaches the driver.
  EXPECT_EQ(mgpuModuleLoad(nullptr, 10), nullptr);
  EXPECT_TRUE(contains(lastError(), "null or empty module image"));
}

TEST_F(MgpuTest, JitLoadsPtxAndReportsTheJitLog) {
  std::string ptx = "//\n.version 8.0\n.target sm_90\n// kernel k0 " +
                    adamas::test::uniqueSuffix() + "\n";
  void *module = mgpuModuleLoadJIT(const_cast<char *>(ptx.c_str()), 2);
  ASSERT_NE(module, nullptr) << lastError();
  EXPECT_EQ(mgpuModuleLoadJIT(const_cast<char *>(ptx.c_str()), 2), module);
  EXPECT_EQ(fakecuda_call_count("cuModuleLoadDataEx"), 1u);
  // Another optimization level is another module.
  EXPECT_NE(mgpuModuleLoadJIT(const_cast<char *>(ptx.c_str()), 3), module);

  std::string bad = "//\n.version 8.0\n// FAKE-JIT-ERROR\n";
  EXPECT_EQ(mgpuModuleLoadJIT(const_cast<char *>(bad.c_str()), 2), nullptr);
  EXPECT_TRUE(contains(lastError(), "mgpuModuleLoadJIT: cuModuleLoadDataEx"))
      << lastError();
  EXPECT_TRUE(contains(lastError(), "CUDA_ERROR_INVALID_PTX")) << lastError();
  EXPECT_TRUE(contains(lastError(), "JIT log: ptxas fatal: fake JIT error"))
      << lastError();
}

TEST_F(MgpuTest, GetFunctionFindsKernelsAndNamesMissingOnes) {
  void *module = load(fakeImage("functions"));
  ASSERT_NE(module, nullptr);
  EXPECT_NE(mgpuModuleGetFunction(module, "k1"), nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(module, "nope"), nullptr);
  EXPECT_EQ(lastError(), "mgpuModuleGetFunction: cuModuleGetFunction('nope') "
                         "failed: CUDA_ERROR_NOT_FOUND (named symbol not "
                         "found)");
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "k1"), nullptr);
  EXPECT_TRUE(contains(lastError(), "null module (its load failed earlier)"))
      << lastError();
}

TEST_F(MgpuTest, LaunchPassesEverythingThrough) {
  void *module = load(fakeImage("launch"));
  void *function = mgpuModuleGetFunction(module, "k0");
  ASSERT_NE(function, nullptr);
  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr);
  int64_t argument = 42;
  void *params[] = {&argument};
  mgpuLaunchKernel(function, 7, 2, 1, 128, 2, 1, /*smem=*/1024, stream, params,
                   nullptr, 1);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_STREQ(record.function, "k0");
  EXPECT_EQ(record.grid[0], 7u);
  EXPECT_EQ(record.grid[1], 2u);
  EXPECT_EQ(record.grid[2], 1u);
  EXPECT_EQ(record.block[0], 128u);
  EXPECT_EQ(record.block[1], 2u);
  EXPECT_EQ(record.sharedMemBytes, 1024u);
  EXPECT_EQ(record.stream, stream);
  EXPECT_EQ(record.params, params);
  EXPECT_EQ(record.cluster[0], 0u);
  EXPECT_EQ(fakecuda_call_count("cuFuncSetAttribute"), 0u);
  mgpuStreamDestroy(stream);
}

TEST_F(MgpuTest, LargeSharedMemoryIsOptedInto) {
  void *function = mgpuModuleGetFunction(load(fakeImage("smem")), "k0");
  ASSERT_NE(function, nullptr);
  mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 100 * 1024, nullptr, nullptr,
                   nullptr, 0);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.sharedMemBytes, 100u * 1024);
  EXPECT_EQ(record.maxDynamicSharedBytes, 100 * 1024);

  fakecuda_reset();
  mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 300 * 1024, nullptr, nullptr,
                   nullptr, 0);
  EXPECT_FALSE(fakecuda_last_launch(&record));
  EXPECT_EQ(lastError(), "mgpuLaunchKernel: kernel asks for 307200 bytes of "
                         "dynamic shared memory; device 0 allows at most "
                         "232448");
}

TEST_F(MgpuTest, BadLaunchesAreReported) {
  void *function = mgpuModuleGetFunction(load(fakeImage("bad-launch")), "k0");
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_TRUE(contains(lastError(), "mgpuLaunchKernel: null kernel function"))
      << lastError();
  mgpuLaunchKernel(function, -1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr,
                   0);
  EXPECT_EQ(lastError(), "mgpuLaunchKernel: launch dimensions out of range: "
                         "grid (-1, 1, 1), block (1, 1, 1)");
  mgpuLaunchKernel(function, intptr_t(1) << 33, 1, 1, 1, 1, 1, 0, nullptr,
                   nullptr, nullptr, 0);
  EXPECT_TRUE(contains(lastError(), "grid (8589934592, 1, 1)")) << lastError();
  // A zero block reaches the driver, which rejects it (as upstream).
  mgpuLaunchKernel(function, 1, 1, 1, 0, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(lastError(), "mgpuLaunchKernel: cuLaunchKernel failed: "
                         "CUDA_ERROR_INVALID_VALUE (invalid argument)");
  FakeLaunchRecord record;
  EXPECT_FALSE(fakecuda_last_launch(&record));
}

TEST_F(MgpuTest, EmptyGridsLaunchNothing) {
  // The host code picks one form of a kernel at run time by giving the
  // other an empty grid: no launch, no driver call, no error.
  void *function = mgpuModuleGetFunction(load(fakeImage("empty-grid")), "k0");
  ASSERT_NE(function, nullptr);
  size_t before = fakecuda_call_count("cuLaunchKernel") +
                  fakecuda_call_count("cuLaunchKernelEx");
  mgpuLaunchKernel(function, 0, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr,
                   0);
  mgpuLaunchKernel(function, 4, 0, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr,
                   0);
  mgpuLaunchClusterKernel(function, 2, 1, 1, 2, 1, 0, 32, 1, 1, 0, nullptr,
                          nullptr, nullptr);
  EXPECT_EQ(lastError(), "");
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernel") +
                fakecuda_call_count("cuLaunchKernelEx"),
            before);
  FakeLaunchRecord record;
  EXPECT_FALSE(fakecuda_last_launch(&record));
  // The same kernel with a grid launches.
  mgpuLaunchKernel(function, 4, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr,
                   0);
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.grid[0], 4u);
}

TEST_F(MgpuTest, ClusterLaunchSetsTheClusterAttribute) {
  void *function = mgpuModuleGetFunction(load(fakeImage("cluster")), "k2");
  ASSERT_NE(function, nullptr);
  mgpuLaunchClusterKernel(function, 2, 1, 1, 8, 1, 1, 64, 1, 1, 0, nullptr,
                          nullptr, nullptr);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.cluster[0], 2u);
  EXPECT_EQ(record.cluster[1], 1u);
  EXPECT_EQ(record.grid[0], 8u);
  EXPECT_EQ(record.block[0], 64u);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernelEx"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernel"), 0u);
}

TEST_F(MgpuTest, ClustersAboveEightOptInOnce) {
  void *function = mgpuModuleGetFunction(load(fakeImage("cluster16")), "k2");
  ASSERT_NE(function, nullptr);
  // Portable sizes need no opt-in.
  mgpuLaunchClusterKernel(function, 8, 1, 1, 16, 1, 1, 64, 1, 1, 0, nullptr,
                          nullptr, nullptr);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.nonPortableClusters, 0);
  EXPECT_EQ(fakecuda_call_count("cuFuncSetAttribute"), 0u);
  // 16 CTAs: the kernel is opted in first, once.
  for (int i = 0; i < 2; ++i) {
    mgpuLaunchClusterKernel(function, 16, 1, 1, 32, 1, 1, 64, 1, 1, 0,
                            nullptr, nullptr, nullptr);
    ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
    EXPECT_EQ(record.cluster[0], 16u);
    EXPECT_EQ(record.nonPortableClusters, 1);
  }
  EXPECT_EQ(fakecuda_call_count("cuFuncSetAttribute"), 1u);
  // More than the device runs: the driver's error, naming the launch.
  fakecuda_reset();
  mgpuLaunchClusterKernel(function, 32, 1, 1, 32, 1, 1, 64, 1, 1, 0, nullptr,
                          nullptr, nullptr);
  EXPECT_TRUE(contains(lastError(), "cuLaunchKernelEx (cluster launch)"))
      << lastError();
  EXPECT_TRUE(contains(lastError(), "CUDA_ERROR_INVALID_CLUSTER_SIZE"))
      << lastError();
  EXPECT_FALSE(fakecuda_last_launch(&record));
}

TEST_F(MgpuTest, MemoryRoundTrip) {
  size_t allocationsBefore = fakecuda_live_allocations();
  void *stream = mgpuStreamCreate();
  constexpr size_t kCount = 1000;
  void *device = mgpuMemAlloc(kCount * 4, stream, false);
  ASSERT_NE(device, nullptr) << lastError();
  EXPECT_EQ(fakecuda_live_allocations(), allocationsBefore + 1);

  std::vector<uint32_t> host(kCount);
  for (size_t i = 0; i < kCount; ++i)
    host[i] = uint32_t(i * 3);
  mgpuMemcpy(device, host.data(), kCount * 4, stream);
  mgpuMemset32(device, 0xDEADBEEF, 10, stream);
  // 16-bit set on elements 20..29 as halves 40..59.
  mgpuMemset16(static_cast<uint16_t *>(device) + 40, 0x1234, 20, stream);
  std::vector<uint32_t> back(kCount, 0);
  mgpuMemcpy(back.data(), device, kCount * 4, stream);
  mgpuStreamSynchronize(stream);
  for (size_t i = 0; i < kCount; ++i) {
    uint32_t expected = i < 10                ? 0xDEADBEEF
                        : (i >= 20 && i < 30) ? 0x12341234
                                              : uint32_t(i * 3);
    ASSERT_EQ(back[i], expected) << i;
  }
  mgpuMemFree(device, stream);
  void *shared = mgpuMemAlloc(64, nullptr, true);
  EXPECT_NE(shared, nullptr);
  EXPECT_EQ(fakecuda_call_count("cuMemAllocManaged"), 1u);
  mgpuMemFree(shared, nullptr);
  EXPECT_EQ(fakecuda_live_allocations(), allocationsBefore);
  // Zero sizes are no-ops, as upstream.
  EXPECT_EQ(mgpuMemAlloc(0, stream, false), nullptr);
  mgpuMemcpy(nullptr, nullptr, 0, stream);
  mgpuMemFree(nullptr, stream);
  EXPECT_EQ(fakecuda_call_count("cuMemAllocAsync"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuMemAlloc_v2"), 0u);
  mgpuStreamDestroy(stream);
}

TEST_F(MgpuTest, StreamsAndEvents) {
  size_t streamsBefore = fakecuda_live_streams();
  size_t eventsBefore = fakecuda_live_events();
  uint64_t errorsBefore = cudaErrors();
  void *a = mgpuStreamCreate();
  void *b = mgpuStreamCreate();
  void *event = mgpuEventCreate();
  ASSERT_TRUE(a && b && event) << lastError();
  mgpuEventRecord(event, a);
  mgpuStreamWaitEvent(b, event);
  mgpuEventSynchronize(event);
  mgpuEventDestroy(event);
  mgpuStreamSynchronize(b);
  mgpuStreamDestroy(a);
  mgpuStreamDestroy(b);
  EXPECT_EQ(cudaErrors(), errorsBefore) << lastError();
  EXPECT_EQ(fakecuda_live_streams(), streamsBefore);
  EXPECT_EQ(fakecuda_live_events(), eventsBefore);
  // Destroying twice is the driver's error, reported with the call.
  mgpuStreamDestroy(a);
  EXPECT_EQ(lastError(), "mgpuStreamDestroy: cuStreamDestroy failed: "
                         "CUDA_ERROR_INVALID_HANDLE (invalid resource handle)");
}

TEST_F(MgpuTest, HostRegisterMemRef) {
  std::vector<float> data(6 * 4);
  MemRef<2> dense{data.data(), data.data(), 4, {5, 4}, {4, 1}};
  mgpuMemHostRegisterMemRef(2, &dense, sizeof(float));
  EXPECT_EQ(fakecuda_registered_host_ranges(), 1u) << lastError();
  mgpuMemHostUnregisterMemRef(2, &dense, sizeof(float));
  EXPECT_EQ(fakecuda_registered_host_ranges(), 0u) << lastError();

  MemRef<2> strided{data.data(), data.data(), 0, {3, 2}, {4, 2}};
  mgpuMemHostRegisterMemRef(2, &strided, sizeof(float));
  EXPECT_EQ(fakecuda_registered_host_ranges(), 0u);
  EXPECT_EQ(lastError(), "mgpuMemHostRegisterMemRef: dimension 1 has stride "
                         "2, a dense layout needs 1");
}

TEST_F(MgpuTest, TensorMapReversesDimensionsForTheDriver) {
  std::vector<uint16_t> data(1024 * 512);
  // memref<1024x512xf16>, box 64x32 (outermost first, as the lowering passes
  // it). The driver wants innermost first and byte strides.
  MemRef<2> memref{data.data(), data.data(), 0, {1024, 512}, {512, 1}};
  int64_t box[2] = {64, 32};
  size_t allocationsBefore = fakecuda_live_allocations();
  void *descriptor = mgpuTensorMapEncodeTiledMemref(
      2, &memref, /*FLOAT16=*/6, /*interleave=*/0, /*swizzle 128B=*/3,
      /*l2=*/0, /*oob=*/0, box);
  ASSERT_NE(descriptor, nullptr) << lastError();
  EXPECT_EQ(fakecuda_live_allocations(), allocationsBefore + 1);
  FakeTensorMapRecord record;
  ASSERT_TRUE(fakecuda_last_tensor_map(&record));
  EXPECT_EQ(record.dataType, 6);
  EXPECT_EQ(record.rank, 2u);
  EXPECT_EQ(record.globalAddress, data.data());
  EXPECT_EQ(record.globalDim[0], 512u);
  EXPECT_EQ(record.globalDim[1], 1024u);
  EXPECT_EQ(record.globalStrides[0], 1024u); // 512 elements * 2 bytes
  EXPECT_EQ(record.boxDim[0], 32u);
  EXPECT_EQ(record.boxDim[1], 64u);
  EXPECT_EQ(record.swizzle, 3);
  // The descriptor was copied to "device" memory.
  unsigned char firstByte = *static_cast<unsigned char *>(descriptor);
  EXPECT_EQ(firstByte, 0xA5);
  mgpuMemFree(descriptor, nullptr);

  EXPECT_EQ(mgpuTensorMapEncodeTiledMemref(6, &memref, 6, 0, 0, 0, 0, box),
            nullptr);
  EXPECT_TRUE(contains(lastError(), "unsupported rank 6")) << lastError();
}

TEST_F(MgpuTest, DefaultDeviceSelectsTheContext) {
  mgpuSetDefaultDevice(1); // The fake has one device.
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  EXPECT_EQ(lastError(), "mgpuStreamCreate: device 1: cuDeviceGet failed: "
                         "CUDA_ERROR_INVALID_DEVICE (invalid device ordinal)");
  // Per thread, like upstream: another thread still uses device 0.
  void *stream = nullptr;
  std::thread other([&] { stream = mgpuStreamCreate(); });
  other.join();
  EXPECT_NE(stream, nullptr);
  mgpuSetDefaultDevice(0);
  mgpuStreamDestroy(stream);
}

TEST_F(MgpuTest, StatsCountLaunchesAndModules) {
  adamas_runtime_stats_t before, after;
  before.struct_size = after.struct_size = sizeof(before);
  ASSERT_EQ(adamas_runtime_get_stats(nullptr, &before), ADAMAS_OK);
  std::string image = fakeImage("stats");
  void *module = load(image);
  load(image);
  void *function = mgpuModuleGetFunction(module, "k0");
  for (int i = 0; i < 10; ++i)
    mgpuLaunchKernel(function, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr,
                     0);
  ASSERT_EQ(adamas_runtime_get_stats(nullptr, &after), ADAMAS_OK);
  EXPECT_EQ(after.kernel_launches - before.kernel_launches, 10u);
  EXPECT_EQ(after.module_driver_loads - before.module_driver_loads, 1u);
  EXPECT_EQ(after.module_cache_hits - before.module_cache_hits, 1u);
  EXPECT_GT(after.module_load_ns_last, 0u);
  EXPECT_GT(after.module_hit_ns_last, 0u);
}

TEST_F(MgpuTest, CurrentStreamIsPerThreadAndUnsetByDefault) {
  EXPECT_EQ(adamas_runtime_current_stream(), nullptr);
  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr) << lastError();
  adamas_runtime_set_current_stream(stream);
  EXPECT_EQ(adamas_runtime_current_stream(), stream);
  void *seenElsewhere = stream;
  void *createdElsewhere = nullptr;
  std::thread other([&] {
    seenElsewhere = adamas_runtime_current_stream();
    // Without a current stream of its own, this thread creates one.
    createdElsewhere = mgpuStreamCreate();
  });
  other.join();
  EXPECT_EQ(seenElsewhere, nullptr);
  EXPECT_NE(createdElsewhere, nullptr);
  EXPECT_NE(createdElsewhere, stream);
  adamas_runtime_set_current_stream(nullptr);
  EXPECT_EQ(adamas_runtime_current_stream(), nullptr);
  mgpuStreamDestroy(createdElsewhere);
  mgpuStreamDestroy(stream);
}

TEST_F(MgpuTest, StreamFunctionsBorrowTheCurrentStream) {
  void *callers = mgpuStreamCreate(); // The caller's own stream.
  ASSERT_NE(callers, nullptr) << lastError();
  size_t streamsBefore = fakecuda_live_streams();
  fakecuda_reset();
  void *function = mgpuModuleGetFunction(load(fakeImage("borrow")), "k0");
  ASSERT_NE(function, nullptr);

  adamas_runtime_set_current_stream(callers);
  // What MLIR 22 emits for `gpu.wait async`, a launch and `gpu.wait [%t]`.
  void *stream = mgpuStreamCreate();
  EXPECT_EQ(stream, callers);
  mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.stream, callers);
  EXPECT_EQ(fakecuda_call_count("cuStreamCreate"), 0u);
  EXPECT_EQ(fakecuda_call_count("cuStreamSynchronize"), 0u);
  EXPECT_EQ(fakecuda_call_count("cuStreamDestroy_v2"), 0u);
  EXPECT_EQ(fakecuda_live_streams(), streamsBefore); // Still alive.

  // Other streams are still the driver's business while one is current.
  void *other = mgpuStreamCreate();
  EXPECT_EQ(other, callers); // mgpuStreamCreate never makes a second one...
  adamas_runtime_set_current_stream(nullptr);
  other = mgpuStreamCreate(); // ...until the current stream is cleared.
  ASSERT_NE(other, nullptr);
  adamas_runtime_set_current_stream(callers);
  mgpuStreamSynchronize(other);
  mgpuStreamDestroy(other);
  EXPECT_EQ(fakecuda_call_count("cuStreamCreate"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuStreamSynchronize"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuStreamDestroy_v2"), 1u);

  // Once cleared, the caller's stream is an ordinary stream again.
  adamas_runtime_set_current_stream(nullptr);
  mgpuStreamDestroy(callers);
  EXPECT_EQ(fakecuda_live_streams(), streamsBefore - 1);
}

TEST_F(MgpuTest, LegacyDefaultStreamCanBeCurrent) {
  void *function = mgpuModuleGetFunction(load(fakeImage("legacy")), "k0");
  ASSERT_NE(function, nullptr);
  adamas_runtime_set_current_stream(ADAMAS_STREAM_LEGACY);
  void *stream = mgpuStreamCreate();
  EXPECT_EQ(stream, ADAMAS_STREAM_LEGACY);
  mgpuLaunchKernel(function, 1, 1, 1, 1, 1, 1, 0, stream, nullptr, nullptr, 0);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  adamas_runtime_set_current_stream(nullptr);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.stream, ADAMAS_STREAM_LEGACY);
  EXPECT_EQ(fakecuda_call_count("cuStreamCreate"), 0u);
  EXPECT_EQ(fakecuda_call_count("cuStreamSynchronize"), 0u);
  EXPECT_EQ(fakecuda_call_count("cuStreamDestroy_v2"), 0u);
}

TEST_F(MgpuTest, StreamAllocationsComeFromThePoolAndFreeTheirWay) {
  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr);
  size_t allocationsBefore = fakecuda_live_allocations();
  void *scratch = mgpuMemAlloc(4096, stream, false);
  ASSERT_NE(scratch, nullptr) << lastError();
  EXPECT_EQ(fakecuda_call_count("cuMemAllocAsync"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuMemAlloc_v2"), 0u);
  // The pool keeps what it reserves across synchronizations.
  EXPECT_EQ(fakecuda_pool_release_threshold(0), UINT64_MAX);
  EXPECT_EQ(fakecuda_live_allocations(), allocationsBefore + 1);

  // Without a stream, or for managed memory: cuMemAlloc*, as upstream.
  void *plain = mgpuMemAlloc(64, nullptr, false);
  void *managed = mgpuMemAlloc(64, nullptr, true);
  ASSERT_TRUE(plain && managed) << lastError();
  EXPECT_EQ(fakecuda_call_count("cuMemAlloc_v2"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuMemAllocManaged"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuMemAllocAsync"), 1u);

  // Each pointer is freed the way it was allocated, whatever stream the
  // free names (the fake rejects mismatched frees).
  uint64_t errorsBefore = cudaErrors();
  mgpuMemFree(plain, stream);
  mgpuMemFree(managed, stream);
  mgpuMemFree(scratch, stream);
  EXPECT_EQ(cudaErrors(), errorsBefore) << lastError();
  EXPECT_EQ(fakecuda_call_count("cuMemFree_v2"), 2u);
  EXPECT_EQ(fakecuda_call_count("cuMemFreeAsync"), 1u);
  EXPECT_EQ(fakecuda_live_allocations(), allocationsBefore);
  mgpuStreamDestroy(stream);
}

TEST_F(MgpuTest, StreamAllocationFailuresNameTheCall) {
  void *stream = mgpuStreamCreate();
  fakecuda_fail_next("cuMemAllocAsync", 2); // CUDA_ERROR_OUT_OF_MEMORY
  EXPECT_EQ(mgpuMemAlloc(1 << 20, stream, false), nullptr);
  EXPECT_EQ(lastError(), "mgpuMemAlloc: cuMemAllocAsync failed: "
                         "CUDA_ERROR_OUT_OF_MEMORY (out of memory)");
  void *scratch = mgpuMemAlloc(1 << 20, stream, false);
  ASSERT_NE(scratch, nullptr) << lastError();
  fakecuda_fail_next("cuMemFreeAsync", 1); // CUDA_ERROR_INVALID_VALUE
  mgpuMemFree(scratch, stream);
  EXPECT_EQ(lastError(), "mgpuMemFree: cuMemFreeAsync failed: "
                         "CUDA_ERROR_INVALID_VALUE (invalid argument)");
  // Still recorded as pool memory: freeing again goes the same way.
  uint64_t errorsBefore = cudaErrors();
  mgpuMemFree(scratch, stream);
  EXPECT_EQ(cudaErrors(), errorsBefore) << lastError();
  EXPECT_EQ(fakecuda_call_count("cuMemFreeAsync"), 2u);
  EXPECT_EQ(fakecuda_call_count("cuMemFree_v2"), 0u);
  mgpuStreamDestroy(stream);
}

// The fake's pool entry points, to compare with the driver's default.
extern "C" {
int cuDeviceGetDefaultMemPool(adamas::cuda::CUmemoryPool *, int);
int cuMemPoolSetAttribute(adamas::cuda::CUmemoryPool, int, void *);
}

TEST_F(MgpuTest, SteadyStateStepsReserveNoNewMemory) {
  void *stream = mgpuStreamCreate();
  auto step = [&] {
    void *a = mgpuMemAlloc(3000, stream, false);
    void *b = mgpuMemAlloc(1 << 16, stream, false);
    EXPECT_TRUE(a && b) << lastError();
    mgpuMemFree(b, stream);
    mgpuMemFree(a, stream);
    mgpuStreamSynchronize(stream); // Where the driver releases pool memory.
  };
  step(); // Warm-up: the pool reserves what a step needs.
  fakecuda_reset();
  for (int i = 0; i < 20; ++i)
    step();
  EXPECT_EQ(fakecuda_call_count("cuMemAllocAsync"), 40u);
  EXPECT_EQ(fakecuda_pool_growths(), 0u);
  EXPECT_EQ(fakecuda_pool_releases(), 0u);

  // What the raised threshold buys: with the driver's default (0), every
  // synchronization hands the memory back and every step reserves it anew.
  adamas::cuda::CUmemoryPool pool = nullptr;
  ASSERT_EQ(cuDeviceGetDefaultMemPool(&pool, 0), 0);
  uint64_t threshold = 0;
  ASSERT_EQ(cuMemPoolSetAttribute(pool, 4, &threshold), 0);
  fakecuda_reset();
  for (int i = 0; i < 20; ++i)
    step();
  // (The first step still found the blocks the pool had kept.)
  EXPECT_EQ(fakecuda_pool_growths(), 2u * 19);
  EXPECT_EQ(fakecuda_pool_releases(), 2u * 20);
  threshold = UINT64_MAX;
  ASSERT_EQ(cuMemPoolSetAttribute(pool, 4, &threshold), 0);
  mgpuStreamDestroy(stream);
}

// Children of the fallback tests below: each needs a process whose driver
// (or device) lacks the stream-ordered allocator; skipped otherwise.
TEST(MgpuFallbackChild, AllocatesSynchronously) {
  const char *which = getenv("ADAMAS_TEST_FALLBACK_CHILD");
  if (!which)
    GTEST_SKIP() << "runs only as a child of MgpuFallback.*";
  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr) << lastError();
  // The driver the runtime loaded, whose counters are the ones that count.
  void *driver = dlopen(getenv("ADAMAS_CUDA_DRIVER"), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(driver, nullptr);
  auto calls = reinterpret_cast<uint64_t (*)(const char *)>(
      dlsym(driver, "fakecuda_call_count"));
  ASSERT_NE(calls, nullptr);
  EXPECT_EQ(dlsym(driver, "cuMemAllocAsync") != nullptr,
            std::string(which) == "no-pools");
  void *scratch = mgpuMemAlloc(4096, stream, false);
  ASSERT_NE(scratch, nullptr) << lastError();
  mgpuMemFree(scratch, stream);
  EXPECT_EQ(lastError(), "");
  EXPECT_EQ(calls("cuMemAlloc_v2"), 1u);
  EXPECT_EQ(calls("cuMemFree_v2"), 1u);
  EXPECT_EQ(calls("cuMemAllocAsync"), 0u);
  mgpuStreamDestroy(stream);
  dlclose(driver);
}

TEST(MgpuFallback, DriverWithoutTheStreamOrderedAllocator) {
  EXPECT_EQ(
      adamas::test::runSelf("MgpuFallbackChild.*",
                            {std::string("ADAMAS_CUDA_DRIVER=") +
                                 ADAMAS_NO_MEMPOOL_CUDA_DRIVER_PATH,
                             "ADAMAS_TEST_KEEP_DRIVER=1",
                             "ADAMAS_TEST_FALLBACK_CHILD=no-entry-points"}),
      0);
}

TEST(MgpuFallback, DeviceWithoutMemoryPools) {
  EXPECT_EQ(
      adamas::test::runSelf(
          "MgpuFallbackChild.*",
          {std::string("ADAMAS_CUDA_DRIVER=") + ADAMAS_FAKE_CUDA_DRIVER_PATH,
           "ADAMAS_TEST_KEEP_DRIVER=1", "FAKECUDA_NO_MEMORY_POOLS=1",
           "ADAMAS_TEST_FALLBACK_CHILD=no-pools"}),
      0);
}

TEST_F(MgpuTest, KernelLookupsAreCachedPerModuleAndName) {
  void *module = load(fakeImage("lookup-cache"));
  void *other = load(fakeImage("lookup-cache-other"));
  ASSERT_TRUE(module && other);
  fakecuda_reset();
  void *k0 = mgpuModuleGetFunction(module, "k0");
  ASSERT_NE(k0, nullptr) << lastError();
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(mgpuModuleGetFunction(module, "k0"), k0);
  EXPECT_EQ(fakecuda_call_count("cuModuleGetFunction"), 1u);
  // A hit touches neither the driver nor the context stack.
  fakecuda_reset();
  EXPECT_EQ(mgpuModuleGetFunction(module, "k0"), k0);
  EXPECT_EQ(fakecuda_call_count("cuCtxGetCurrent"), 0u);
  EXPECT_EQ(fakecuda_call_count("cuCtxPushCurrent_v2"), 0u);
  // Other names and other modules are other entries.
  void *k1 = mgpuModuleGetFunction(module, "k1");
  void *otherK0 = mgpuModuleGetFunction(other, "k0");
  EXPECT_TRUE(k1 && otherK0 && k1 != k0 && otherK0 != k0);
  EXPECT_EQ(fakecuda_call_count("cuModuleGetFunction"), 2u);
  // The name is compared by content, not by pointer.
  std::string name = "k1";
  EXPECT_EQ(mgpuModuleGetFunction(module, name.c_str()), k1);
  EXPECT_EQ(fakecuda_call_count("cuModuleGetFunction"), 2u);
  // Failures are not cached: each one asks the driver and is reported.
  EXPECT_EQ(mgpuModuleGetFunction(module, "nope"), nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(module, "nope"), nullptr);
  EXPECT_EQ(fakecuda_call_count("cuModuleGetFunction"), 4u);
}

TEST_F(MgpuTest, UnloadedModulesLeaveTheLookupCache) {
  // Through the module cache: trimmed, loaded again (the driver may reuse
  // the handle), looked up again from the driver.
  std::string image = fakeImage("lookup-trim");
  void *module = load(image);
  ASSERT_NE(mgpuModuleGetFunction(module, "k0"), nullptr);
  mgpuModuleUnload(module);
  adamas_module_cache_trim();
  fakecuda_reset();
  void *again = load(image);
  void *function = mgpuModuleGetFunction(again, "k0");
  ASSERT_NE(function, nullptr) << lastError();
  EXPECT_EQ(fakecuda_call_count("cuModuleGetFunction"), 1u);
  mgpuLaunchKernel(function, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  FakeLaunchRecord record;
  EXPECT_TRUE(fakecuda_last_launch(&record)) << lastError();
  mgpuModuleUnload(again);

  // A module loaded behind the runtime's back and unloaded through it.
  adamas::cuda::CUcontext context = nullptr;
  adamas::cuda::CUmodule foreign = nullptr;
  std::string foreignImage = fakeImage("lookup-foreign");
  ASSERT_EQ(cuDevicePrimaryCtxRetain(&context, 0), 0);
  ASSERT_EQ(cuCtxPushCurrent_v2(context), 0);
  ASSERT_EQ(cuModuleLoadData(&foreign, foreignImage.c_str()), 0);
  ASSERT_EQ(cuCtxPopCurrent_v2(nullptr), 0);
  ASSERT_NE(mgpuModuleGetFunction(foreign, "k0"), nullptr);
  mgpuModuleUnload(foreign);
  fakecuda_reset();
  EXPECT_EQ(mgpuModuleGetFunction(foreign, "k0"), nullptr);
  EXPECT_EQ(fakecuda_call_count("cuModuleGetFunction"), 1u);
  EXPECT_TRUE(contains(lastError(), "CUDA_ERROR_INVALID_HANDLE"))
      << lastError();
}

TEST_F(MgpuTest, NoContextPushWhenThePrimaryContextIsCurrent) {
  void *function = mgpuModuleGetFunction(load(fakeImage("ctx-current")), "k0");
  ASSERT_NE(function, nullptr);
  fakecuda_reset();
  mgpuLaunchKernel(function, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(fakecuda_call_count("cuCtxPushCurrent_v2"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuCtxPopCurrent_v2"), 1u);

  // As on a thread where PyTorch made the primary context current.
  adamas::cuda::CUcontext primary = nullptr;
  ASSERT_EQ(cuDevicePrimaryCtxRetain(&primary, 0), 0);
  ASSERT_EQ(cuCtxPushCurrent_v2(primary), 0);
  fakecuda_reset();
  uint64_t errorsBefore = cudaErrors();
  mgpuLaunchKernel(function, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  void *stream = mgpuStreamCreate();
  mgpuStreamDestroy(stream);
  EXPECT_EQ(cudaErrors(), errorsBefore) << lastError();
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernel"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuCtxGetCurrent"), 3u);
  EXPECT_EQ(fakecuda_call_count("cuCtxPushCurrent_v2"), 0u);
  EXPECT_EQ(fakecuda_call_count("cuCtxPopCurrent_v2"), 0u);
  EXPECT_EQ(fakecuda_context_depth(), 1u); // Left as it was.
  ASSERT_EQ(cuCtxPopCurrent_v2(nullptr), 0);
}

TEST_F(MgpuTest, SharedMemoryOptInOncePerKernelAndSize) {
  void *function = mgpuModuleGetFunction(load(fakeImage("optin-once")), "k0");
  ASSERT_NE(function, nullptr);
  fakecuda_reset();
  auto launch = [&](int32_t smem) {
    mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, smem, nullptr, nullptr,
                     nullptr, 0);
  };
  for (int i = 0; i < 5; ++i)
    launch(100 * 1024);
  EXPECT_EQ(fakecuda_call_count("cuFuncSetAttribute"), 1u);
  launch(64 * 1024); // Covered by the earlier opt-in.
  launch(120 * 1024);
  launch(120 * 1024);
  EXPECT_EQ(fakecuda_call_count("cuFuncSetAttribute"), 2u);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernel"), 8u) << lastError();
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record));
  EXPECT_EQ(record.maxDynamicSharedBytes, 120 * 1024);
}

TEST_F(MgpuTest, CooperativeLaunchSetsTheCooperativeAttribute) {
  void *function = mgpuModuleGetFunction(load(fakeImage("cooperative")), "k1");
  ASSERT_NE(function, nullptr);
  void *stream = mgpuStreamCreate();
  int64_t argument = 7;
  void *params[] = {&argument};
  fakecuda_reset();
  // 132 SMs x 8 blocks of 256 threads: exactly what fits at once.
  mgpuLaunchCooperativeKernel(function, 132 * 8, 1, 1, 256, 1, 1, 1024, stream,
                              params, nullptr, 1);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_STREQ(record.function, "k1");
  EXPECT_EQ(record.cooperative, 1);
  EXPECT_EQ(record.grid[0], 132u * 8);
  EXPECT_EQ(record.block[0], 256u);
  EXPECT_EQ(record.sharedMemBytes, 1024u);
  EXPECT_EQ(record.stream, stream);
  EXPECT_EQ(record.params, params);
  EXPECT_EQ(record.cluster[0], 0u);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernelEx"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernel"), 0u);
  // Ordinary launches stay ordinary.
  mgpuLaunchKernel(function, 1, 1, 1, 1, 1, 1, 0, stream, params, nullptr, 1);
  ASSERT_TRUE(fakecuda_last_launch(&record));
  EXPECT_EQ(record.cooperative, 0);

  // Large shared memory is opted into first, then limits residency.
  mgpuLaunchCooperativeKernel(function, 132, 1, 1, 128, 1, 1, 200 * 1024,
                              stream, params, nullptr, 1);
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.cooperative, 1);
  EXPECT_EQ(record.maxDynamicSharedBytes, 200 * 1024);
  mgpuStreamDestroy(stream);
}

TEST_F(MgpuTest, KernelsOfAModuleThatWaitOnGridDependenciesLaunchProgrammatically) {
  // The compiler declares adamas_grid_dependency_wait in modules whose
  // kernels all wait (griddepcontrol.wait) before touching global memory.
  void *marked = mgpuModuleGetFunction(
      load(fakeImage("pdl") + ";globals=adamas_grid_dependency_wait"), "k1");
  void *plain = mgpuModuleGetFunction(load(fakeImage("no-pdl")), "k1");
  ASSERT_NE(marked, nullptr);
  ASSERT_NE(plain, nullptr);
  void *stream = mgpuStreamCreate();
  int64_t argument = 7;
  void *params[] = {&argument};
  fakecuda_reset();
  mgpuLaunchKernel(marked, 4, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 1);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_STREQ(record.function, "k1");
  EXPECT_EQ(record.programmatic, 1);
  EXPECT_EQ(record.cooperative, 0);
  EXPECT_EQ(record.grid[0], 4u);
  EXPECT_EQ(record.stream, stream);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernelEx"), 1u);
  // Looked up once per module, not per launch.
  mgpuLaunchKernel(marked, 4, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 1);
  EXPECT_EQ(fakecuda_call_count("cuModuleGetGlobal_v2"), 0u);
  // Kernels of other modules (e.g. upstream-generated ones) launch as before.
  mgpuLaunchKernel(plain, 4, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 1);
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.programmatic, 0);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernel"), 1u);
  // Both attributes when a waiting kernel is launched cooperatively.
  mgpuLaunchCooperativeKernel(marked, 8, 1, 1, 256, 1, 1, 0, stream, params,
                              nullptr, 1);
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_EQ(record.programmatic, 1);
  EXPECT_EQ(record.cooperative, 1);
  mgpuStreamDestroy(stream);
}

TEST_F(MgpuTest, KernelsWithAGridBarrierLaunchCooperatively) {
  // The compiler names a kernel whose CTAs meet at a grid-wide barrier
  // <...>_gridsync: every launch of it is cooperative, the module's other
  // kernels (a name that merely contains the suffix among them) launch as
  // before.
  void *module = load(fakeImage("grid-barrier") +
                      ";kernels=k1_gridsync_not;"
                      "globals=adamas_grid_dependency_wait");
  void *synchronised = mgpuModuleGetFunction(module, "k1_gridsync");
  void *other = mgpuModuleGetFunction(module, "k1_gridsync_not");
  ASSERT_NE(synchronised, nullptr);
  ASSERT_NE(other, nullptr);
  void *stream = mgpuStreamCreate();
  int64_t argument = 7;
  void *params[] = {&argument};
  fakecuda_reset();
  mgpuLaunchKernel(synchronised, 528, 1, 1, 256, 1, 1, 0, stream, params,
                   nullptr, 1);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_STREQ(record.function, "k1_gridsync");
  EXPECT_EQ(record.cooperative, 1);
  EXPECT_EQ(record.programmatic, 1);
  mgpuLaunchKernel(other, 528, 1, 1, 256, 1, 1, 0, stream, params, nullptr,
                   1);
  ASSERT_TRUE(fakecuda_last_launch(&record)) << lastError();
  EXPECT_STREQ(record.function, "k1_gridsync_not");
  EXPECT_EQ(record.cooperative, 0);
  EXPECT_EQ(record.programmatic, 1);
  // No driver call decides it.
  EXPECT_EQ(fakecuda_call_count("cuModuleGetGlobal_v2"), 0u);
  mgpuStreamDestroy(stream);
}

TEST_F(MgpuTest, MultiprocessorCountIsTheDevicesAndCached) {
  fakecuda_reset();
  EXPECT_EQ(mgpuDeviceMultiprocessorCount(), 132) << lastError();
  uint64_t asked = fakecuda_call_count("cuDeviceGetAttribute");
  EXPECT_LE(asked, 1u); // Once per thread and device (earlier repeats: 0).
  EXPECT_EQ(mgpuDeviceMultiprocessorCount(), 132);
  EXPECT_EQ(fakecuda_call_count("cuDeviceGetAttribute"), asked);
}

TEST_F(MgpuTest, CooperativeLaunchErrorsAreReported) {
  void *function =
      mgpuModuleGetFunction(load(fakeImage("cooperative-errors")), "k0");
  ASSERT_NE(function, nullptr);
  uint64_t errorsBefore = cudaErrors();
  mgpuLaunchCooperativeKernel(function, 132 * 8 + 1, 1, 1, 256, 1, 1, 0,
                              nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(lastError(),
            "mgpuLaunchCooperativeKernel: cuLaunchKernelEx (cooperative "
            "launch) failed: CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE (too "
            "many blocks in cooperative launch)");
  EXPECT_EQ(cudaErrors(), errorsBefore + 1);
  mgpuLaunchCooperativeKernel(function, 2 * 132, 1, 1, 128, 1, 1, 200 * 1024,
                              nullptr, nullptr, nullptr, 0);
  EXPECT_TRUE(contains(lastError(), "COOPERATIVE_LAUNCH_TOO_LARGE"))
      << lastError();
  mgpuLaunchCooperativeKernel(function, -1, 1, 1, 1, 1, 1, 0, nullptr, nullptr,
                              nullptr, 0);
  EXPECT_EQ(lastError(), "mgpuLaunchCooperativeKernel: launch dimensions out "
                         "of range: grid (-1, 1, 1), block (1, 1, 1)");
  mgpuLaunchCooperativeKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr,
                              nullptr, 0);
  EXPECT_TRUE(contains(lastError(),
                       "mgpuLaunchCooperativeKernel: null kernel function"))
      << lastError();
  FakeLaunchRecord record;
  EXPECT_FALSE(fakecuda_last_launch(&record));
}
