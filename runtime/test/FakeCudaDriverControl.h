//===- FakeCudaDriverControl.h - Steering the fake driver -------*- C++ -*-===//
//
// libadamas_fake_cuda.so exports the CUDA driver entry points the runtime
// resolves (CudaDriverApi.h) plus these functions, which tests call to
// inspect what the runtime asked of the "driver" and to inject failures.
//
// The fake keeps "device memory" in host memory, so copies and memsets are
// real, and models contexts strictly: every call but the initialization and
// error-string ones fails with CUDA_ERROR_INVALID_CONTEXT unless a context is
// current on the calling thread, which checks that the runtime pushes one.
// Images are accepted if they look like an ELF cubin, a fatbin, PTX, or the
// test format "FAKE:<anything>" (NUL-terminated); an image containing
// "FAKE-BAD" is rejected as invalid. A kernel name is found if it occurs in
// the image's bytes. Stream arguments may be null or the special handles
// CU_STREAM_LEGACY (0x1) and CU_STREAM_PER_THREAD (0x2). Launches are recorded;
// kernels named in FakeKernels.cpp are emulated on the host so MLIR-lowered
// host code can run end to end. A cooperative launch fails with
// CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE unless its blocks fit at once on
// 132 SMs (2048 threads, 32 blocks, 227 KiB of shared memory per SM).
//
// Each device has a default memory pool for cuMemAllocAsync/cuMemFreeAsync
// that models the driver's caching: freed blocks stay reserved in the pool
// and are reused, and at every cuStreamSynchronize / cuEventSynchronize a
// pool holding more than its release threshold (CU_MEMPOOL_ATTR_RELEASE_
// THRESHOLD, default 0) returns unused blocks to the "OS". Stricter than the
// driver: cuMemFree of pool memory and cuMemFreeAsync of other memory fail
// with CUDA_ERROR_INVALID_VALUE. libadamas_fake_cuda_no_mempool.so is the
// same fake without the four stream-ordered allocator entry points.
//
// Environment: FAKECUDA_DRIVER_VERSION (default 13000),
// FAKECUDA_DEVICE_COUNT (default 1), FAKECUDA_INIT_ERROR (cuInit's result),
// FAKECUDA_NO_MEMORY_POOLS (non-zero: devices report no memory pool support
// and the pool calls fail with CUDA_ERROR_NOT_SUPPORTED).
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_TEST_FAKECUDADRIVERCONTROL_H
#define ADAMAS_RUNTIME_TEST_FAKECUDADRIVERCONTROL_H

#include <cstddef>
#include <cstdint>

extern "C" {

struct FakeLaunchRecord {
  char function[128];
  unsigned grid[3];
  unsigned block[3];
  unsigned cluster[3]; // Zero unless launched with cuLaunchKernelEx.
  unsigned sharedMemBytes;
  void *stream;
  void **params;
  int maxDynamicSharedBytes; // Last cuFuncSetAttribute value, or 0.
  int cooperative;           // Launched with CU_LAUNCH_ATTRIBUTE_COOPERATIVE.
  int programmatic; // With CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION.
  int nonPortableClusters; // NON_PORTABLE_CLUSTER_SIZE_ALLOWED was set.
};

struct FakeTensorMapRecord {
  int dataType;
  unsigned rank;
  void *globalAddress;
  uint64_t globalDim[5];
  uint64_t globalStrides[5];
  uint32_t boxDim[5];
  int interleave, swizzle, l2Promotion, oobFill;
};

/// Forgets counters, records and injected failures; keeps loaded state.
void fakecuda_reset(void);
/// How often the exported symbol `name` (e.g. "cuModuleLoadData") was called
/// since the last reset.
uint64_t fakecuda_call_count(const char *name);
/// Makes the next call of `name` return `error` without doing anything.
void fakecuda_fail_next(const char *name, int error);
/// The most recent launch; false if there was none since the reset.
bool fakecuda_last_launch(FakeLaunchRecord *out);
/// sizeof(FakeLaunchRecord), for bindings that mirror it (Python's ctypes
/// tests check theirs against it before passing a buffer).
size_t fakecuda_launch_record_size(void);
/// The most recent cuTensorMapEncodeTiled call; false if none.
bool fakecuda_last_tensor_map(FakeTensorMapRecord *out);
/// Modules currently loaded, allocations currently live, streams and events
/// currently existing, host ranges currently registered.
size_t fakecuda_loaded_modules(void);
size_t fakecuda_live_allocations(void);
size_t fakecuda_live_streams(void);
size_t fakecuda_live_events(void);
size_t fakecuda_registered_host_ranges(void);
/// Depth of the calling thread's context stack (0: nothing current).
size_t fakecuda_context_depth(void);
/// Blocks the memory pools reserved from / returned to the "OS" since the
/// last reset (a steady state reserves none).
uint64_t fakecuda_pool_growths(void);
uint64_t fakecuda_pool_releases(void);
/// Bytes device `device`'s default pool holds reserved, and its release
/// threshold (0 if the pool was never used).
uint64_t fakecuda_pool_reserved_bytes(int device);
uint64_t fakecuda_pool_release_threshold(int device);
}

#endif // ADAMAS_RUNTIME_TEST_FAKECUDADRIVERCONTROL_H
