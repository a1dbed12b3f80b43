//===- DecodeStepTest.cpp - A decode step's host calls on the fake --------===//
//
// Replays the mgpu* calls MLIR 22's gpu-to-llvm lowering makes for one
// decode step of adamas-gpu-pipeline's host code (see runtime/README.md):
//
//   %t0 = gpu.wait async              -> mgpuStreamCreate()
//   gpu.alloc async [%t] (scratch)    -> mgpuMemAlloc(bytes, stream, false)
//   gpu.launch_func async [%t] ...    -> mgpuModuleGetFunction(module, name)
//                                        mgpuLaunchKernel(..., stream, ...)
//   gpu.dealloc async [%t] ...        -> mgpuMemFree(ptr, stream)
//   gpu.wait [%t]                     -> mgpuStreamSynchronize(stream)
//                                        mgpuStreamDestroy(stream)
//
// and checks what reaches the driver once the step has run once, on a thread
// that has set a current stream (and, like a PyTorch thread, has the primary
// context current). Also measures the host cost of a lookup plus a launch.
//
//===----------------------------------------------------------------------===//

#include "adamas/mgpu.h"
#include "adamas/runtime.h"

#include "CudaDriverApi.h"
#include "FakeCudaDriverControl.h"
#include "TestUtilities.h"

#include <chrono>
#include <cstdio>
#include <gtest/gtest.h>
#include <string>

// The fake's own entry points, to act as PyTorch would.
extern "C" {
int cuDevicePrimaryCtxRetain(adamas::cuda::CUcontext *, int);
int cuCtxPushCurrent_v2(adamas::cuda::CUcontext);
int cuCtxPopCurrent_v2(adamas::cuda::CUcontext *);
int cuStreamCreate(adamas::cuda::CUstream *, unsigned);
int cuStreamDestroy_v2(adamas::cuda::CUstream);
int cuCtxGetCurrent(adamas::cuda::CUcontext *);
int cuLaunchKernel(adamas::cuda::CUfunction, unsigned, unsigned, unsigned,
                   unsigned, unsigned, unsigned, unsigned,
                   adamas::cuda::CUstream, void **, void **);
}

namespace {
std::string lastError() { return adamas_runtime_last_error(); }

uint64_t cudaErrors() {
  adamas_runtime_stats_t stats;
  stats.struct_size = sizeof(stats);
  adamas_runtime_get_stats(nullptr, &stats);
  return stats.cuda_errors;
}

/// The module of a step: encode, select and attend kernels.
class DecodeStepTest : public ::testing::Test {
protected:
  void SetUp() override {
    image_ = "FAKE:step" + adamas::test::uniqueSuffix() +
             ";adamas_encode_d128;adamas_select_d128;adamas_attend_d128";
    module_ =
        mgpuModuleLoad(const_cast<char *>(image_.c_str()), image_.size() + 1);
    ASSERT_NE(module_, nullptr) << lastError();
  }
  void TearDown() override { mgpuModuleUnload(module_); }

  /// One step, as the lowered host code calls the runtime.
  void step() {
    void *stream = mgpuStreamCreate();
    void *histogram = mgpuMemAlloc(128 * 1024, stream, false);
    void *candidates = mgpuMemAlloc(3000, stream, false);
    int64_t n = 4096;
    void *params[] = {&histogram, &candidates, &n};
    const char *kernels[] = {"adamas_encode_d128", "adamas_select_d128",
                             "adamas_attend_d128"};
    int32_t smem[] = {0, 96 * 1024, 64 * 1024};
    for (int k = 0; k < 3; ++k) {
      void *function = mgpuModuleGetFunction(module_, kernels[k]);
      mgpuLaunchKernel(function, 132, 1, 1, 256, 1, 1, smem[k], stream, params,
                       nullptr, 3);
    }
    mgpuMemFree(candidates, stream);
    mgpuMemFree(histogram, stream);
    mgpuStreamSynchronize(stream);
    mgpuStreamDestroy(stream);
  }

  std::string image_;
  void *module_ = nullptr;
};
} // namespace

TEST_F(DecodeStepTest, OnTheCurrentStreamOnlyAllocationsAndLaunchesRemain) {
  adamas::cuda::CUcontext primary = nullptr;
  ASSERT_EQ(cuDevicePrimaryCtxRetain(&primary, 0), 0);
  ASSERT_EQ(cuCtxPushCurrent_v2(primary), 0);
  adamas::cuda::CUstream callers = nullptr;
  ASSERT_EQ(cuStreamCreate(&callers, 0), 0);
  size_t streams = fakecuda_live_streams();
  size_t allocations = fakecuda_live_allocations();
  adamas_runtime_set_current_stream(callers);

  uint64_t errorsBefore = cudaErrors();
  step(); // Warm-up: kernel lookups, shared memory opt-ins, pool growth.
  fakecuda_reset();
  constexpr int kSteps = 10;
  for (int i = 0; i < kSteps; ++i)
    step();
  EXPECT_EQ(cudaErrors(), errorsBefore) << lastError();

  // No stream is created, synchronized or destroyed; nothing is allocated
  // from the driver or the OS; no lookup, opt-in or context switch.
  for (const char *call :
       {"cuStreamCreate", "cuStreamSynchronize", "cuStreamDestroy_v2",
        "cuMemAlloc_v2", "cuMemFree_v2", "cuModuleGetFunction",
        "cuFuncSetAttribute", "cuCtxPushCurrent_v2", "cuCtxPopCurrent_v2",
        "cuDeviceGetDefaultMemPool", "cuMemPoolSetAttribute"})
    EXPECT_EQ(fakecuda_call_count(call), 0u) << call;
  EXPECT_EQ(fakecuda_pool_growths(), 0u);
  // What remains is stream-ordered work on the caller's stream.
  EXPECT_EQ(fakecuda_call_count("cuMemAllocAsync"), 2u * kSteps);
  EXPECT_EQ(fakecuda_call_count("cuMemFreeAsync"), 2u * kSteps);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernel"), 3u * kSteps);
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record));
  EXPECT_EQ(record.stream, callers);
  EXPECT_STREQ(record.function, "adamas_attend_d128");
  EXPECT_EQ(fakecuda_live_streams(), streams);
  EXPECT_EQ(fakecuda_live_allocations(), allocations);

  adamas_runtime_set_current_stream(nullptr);
  ASSERT_EQ(cuStreamDestroy_v2(callers), 0);
  ASSERT_EQ(cuCtxPopCurrent_v2(nullptr), 0);
}

TEST_F(DecodeStepTest, WithoutACurrentStreamAStepMakesItsOwn) {
  size_t streams = fakecuda_live_streams();
  step();
  fakecuda_reset();
  step();
  EXPECT_EQ(fakecuda_call_count("cuStreamCreate"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuStreamSynchronize"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuStreamDestroy_v2"), 1u);
  // Scratch still comes from the pool, ordered on the step's stream.
  EXPECT_EQ(fakecuda_call_count("cuMemAllocAsync"), 2u);
  EXPECT_EQ(fakecuda_call_count("cuMemAlloc_v2"), 0u);
  EXPECT_EQ(fakecuda_pool_growths(), 0u);
  EXPECT_EQ(fakecuda_live_streams(), streams);
}

namespace {
template <typename Body> double nanosecondsPerCall(int count, Body body) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i)
    body();
  std::chrono::duration<double, std::nano> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / count;
}
} // namespace

// Prints the host cost of what generated code does per kernel: a lookup and
// a launch. The fake's own cost (a mutex, a std::map of call counts, the
// launch record) is measured alone and subtracted. No timing assertions.
TEST_F(DecodeStepTest, HostCostOfALookupAndALaunch) {
  constexpr int kCount = 200000;
  void *function = mgpuModuleGetFunction(module_, "adamas_select_d128");
  ASSERT_NE(function, nullptr);
  int64_t n = 1;
  void *params[] = {&n, &n, &n};
  adamas::cuda::CUstream stream = nullptr;
  adamas::cuda::CUcontext primary = nullptr;
  ASSERT_EQ(cuDevicePrimaryCtxRetain(&primary, 0), 0);
  ASSERT_EQ(cuCtxPushCurrent_v2(primary), 0);
  ASSERT_EQ(cuStreamCreate(&stream, 0), 0);
  auto pair = [&](int32_t smem) {
    void *f = mgpuModuleGetFunction(module_, "adamas_select_d128");
    mgpuLaunchKernel(f, 132, 1, 1, 256, 1, 1, smem, stream, params, nullptr, 3);
  };
  pair(96 * 1024); // Opt in once.
  uint64_t errorsBefore = cudaErrors();
  double fake = nanosecondsPerCall(kCount, [&] {
    cuLaunchKernel(static_cast<adamas::cuda::CUfunction>(function), 132, 1, 1,
                   256, 1, 1, 0, stream, params, nullptr);
  });
  double query = nanosecondsPerCall(kCount, [&] {
    adamas::cuda::CUcontext context = nullptr;
    cuCtxGetCurrent(&context);
  });
  double current = nanosecondsPerCall(kCount, [&] { pair(0); });
  double currentSmem = nanosecondsPerCall(kCount, [&] { pair(96 * 1024); });
  double lookup = nanosecondsPerCall(kCount, [&] {
    (void)mgpuModuleGetFunction(module_, "adamas_select_d128");
  });
  ASSERT_EQ(cuCtxPopCurrent_v2(nullptr), 0);
  double pushed = nanosecondsPerCall(kCount, [&] { pair(0); });
  EXPECT_EQ(cudaErrors(), errorsBefore) << lastError();
  ASSERT_EQ(cuCtxPushCurrent_v2(primary), 0);
  ASSERT_EQ(cuStreamDestroy_v2(stream), 0);
  ASSERT_EQ(cuCtxPopCurrent_v2(nullptr), 0);

  // The runtime's own share: what the pair costs beyond the fake's
  // cuLaunchKernel and its cuCtxGetCurrent.
  double fakeCalls = fake + query;
  std::printf(
      "[ host cost ] fake cuLaunchKernel alone:                 %7.1f ns\n"
      "[ host cost ] fake cuCtxGetCurrent alone:                %7.1f ns\n"
      "[ host cost ] mgpuModuleGetFunction (cache hit):         %7.1f ns\n"
      "[ host cost ] lookup + launch, primary context current:  %7.1f ns "
      "(runtime's own %.1f ns)\n"
      "[ host cost ]   same, 96 KiB dynamic shared memory:      %7.1f ns "
      "(runtime's own %.1f ns)\n"
      "[ host cost ] lookup + launch, context pushed/popped:    %7.1f ns "
      "(beyond the fake's launch: %.1f ns, its push and pop included)\n",
      fake, query, lookup, current, current - fakeCalls, currentSmem,
      currentSmem - fakeCalls, pushed, pushed - fake);
  RecordProperty("fake_launch_ns", std::to_string(fake));
  RecordProperty("lookup_and_launch_ns", std::to_string(current));
  RecordProperty("lookup_and_launch_pushed_ns", std::to_string(pushed));
}
