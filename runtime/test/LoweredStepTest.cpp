//===- LoweredStepTest.cpp - MLIR-lowered host code on a current stream ---===//
//
// bench/runtime/vecadd.mlir lowered by upstream MLIR 22 (gpu-to-llvm; PTX
// embedded, loaded by a global constructor with mgpuModuleLoadJIT), linked
// against libadamas_runtime.so and run against the fake driver, which
// emulates the kernel. Its host function has a decode step's shape:
// `gpu.wait async`, `gpu.alloc async` x3, copies, `gpu.launch_func async`,
// `gpu.dealloc async` x3, `gpu.wait`. With a current stream set, nothing but
// stream-ordered work on that stream may reach the driver after the first
// call. (The environment names the fake driver: the module loads before
// main.)
//
//===----------------------------------------------------------------------===//

#include "adamas/runtime.h"

#include "CudaDriverApi.h"
#include "FakeCudaDriverControl.h"

#include <gtest/gtest.h>
#include <vector>

namespace {
template <typename T> struct MemRef1D {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
};

template <typename T> MemRef1D<T> view(std::vector<T> &data) {
  return {data.data(), data.data(), 0, int64_t(data.size()), 1};
}

uint64_t cudaErrors() {
  adamas_runtime_stats_t stats;
  stats.struct_size = sizeof(stats);
  adamas_runtime_get_stats(nullptr, &stats);
  return stats.cuda_errors;
}
} // namespace

extern "C" {
void _mlir_ciface_vecadd(MemRef1D<float> *a, MemRef1D<float> *b,
                         MemRef1D<float> *c);
int cuDevicePrimaryCtxRetain(adamas::cuda::CUcontext *, int);
int cuCtxPushCurrent_v2(adamas::cuda::CUcontext);
int cuCtxPopCurrent_v2(adamas::cuda::CUcontext *);
int cuStreamCreate(adamas::cuda::CUstream *, unsigned);
int cuStreamDestroy_v2(adamas::cuda::CUstream);
}

class LoweredStep : public ::testing::Test {
protected:
  void SetUp() override {
    for (int i = 0; i < kN; ++i) {
      a_[i] = float(i);
      b_[i] = 0.5f * float(i);
    }
  }
  void run() {
    std::fill(c_.begin(), c_.end(), -1.0f);
    MemRef1D<float> a = view(a_), b = view(b_), c = view(c_);
    _mlir_ciface_vecadd(&a, &b, &c);
    for (int i = 0; i < kN; ++i)
      ASSERT_EQ(c_[i], 1.5f * float(i))
          << i << ": " << adamas_runtime_last_error();
  }
  static constexpr int kN = 1000;
  std::vector<float> a_ = std::vector<float>(kN), b_ = std::vector<float>(kN),
                     c_ = std::vector<float>(kN);
};

TEST_F(LoweredStep, RunsOnTheCurrentStreamWithoutStreamOrAllocationCalls) {
  adamas::cuda::CUcontext primary = nullptr;
  ASSERT_EQ(cuDevicePrimaryCtxRetain(&primary, 0), 0);
  ASSERT_EQ(cuCtxPushCurrent_v2(primary), 0); // As PyTorch leaves it.
  adamas::cuda::CUstream callers = nullptr;
  ASSERT_EQ(cuStreamCreate(&callers, 0), 0);
  size_t streams = fakecuda_live_streams();
  size_t allocations = fakecuda_live_allocations();
  adamas_runtime_set_current_stream(callers);
  uint64_t errorsBefore = cudaErrors();
  run(); // Warm-up.
  fakecuda_reset();
  constexpr int kCalls = 10;
  for (int i = 0; i < kCalls; ++i)
    run();
  EXPECT_EQ(cudaErrors(), errorsBefore) << adamas_runtime_last_error();
  for (const char *call :
       {"cuStreamCreate", "cuStreamSynchronize", "cuStreamDestroy_v2",
        "cuMemAlloc_v2", "cuMemFree_v2", "cuModuleGetFunction",
        "cuModuleLoadDataEx", "cuCtxPushCurrent_v2", "cuEventCreate"})
    EXPECT_EQ(fakecuda_call_count(call), 0u) << call;
  EXPECT_EQ(fakecuda_pool_growths(), 0u);
  EXPECT_EQ(fakecuda_call_count("cuMemAllocAsync"), 3u * kCalls);
  EXPECT_EQ(fakecuda_call_count("cuMemFreeAsync"), 3u * kCalls);
  EXPECT_EQ(fakecuda_call_count("cuMemcpyAsync"), 3u * kCalls);
  EXPECT_EQ(fakecuda_call_count("cuLaunchKernel"), uint64_t(kCalls));
  FakeLaunchRecord record;
  ASSERT_TRUE(fakecuda_last_launch(&record));
  EXPECT_STREQ(record.function, "vecadd");
  EXPECT_EQ(record.stream, callers);
  EXPECT_EQ(fakecuda_live_streams(), streams);
  EXPECT_EQ(fakecuda_live_allocations(), allocations);
  adamas_runtime_set_current_stream(nullptr);
  ASSERT_EQ(cuStreamDestroy_v2(callers), 0);
  ASSERT_EQ(cuCtxPopCurrent_v2(nullptr), 0);
}

TEST_F(LoweredStep, WithoutACurrentStreamEachCallHasItsOwnStream) {
  size_t streams = fakecuda_live_streams();
  run();
  fakecuda_reset();
  run();
  EXPECT_EQ(fakecuda_call_count("cuStreamCreate"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuStreamSynchronize"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuStreamDestroy_v2"), 1u);
  EXPECT_EQ(fakecuda_call_count("cuMemAllocAsync"), 3u);
  EXPECT_EQ(fakecuda_call_count("cuMemAlloc_v2"), 0u);
  EXPECT_EQ(fakecuda_live_streams(), streams);
  EXPECT_EQ(fakecuda_context_depth(), 0u);
}
