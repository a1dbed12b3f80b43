/*===- adamas/mgpu.h - mgpu* entry points of upstream MLIR ------*- C -*-===*\
|*                                                                            *|
|* The functions that MLIR 22's GPU-to-LLVM lowering (gpu-to-llvm,            *|
|* SelectObjectAttr, nvgpu-to-nvvm) emits calls to, with the signatures that  *|
|* lowering declares (integer widths included), implemented by                *|
|* libadamas_runtime.so over the dlopen'ed CUDA driver, plus                  *|
|* mgpuLaunchCooperativeKernel. Drop-in compatible with upstream's            *|
|* libmlir_cuda_runtime for these symbols, with differences that are the      *|
|* point of this runtime:                                                     *|
|*  - mgpuModuleLoad / mgpuModuleLoadJIT go through a process-wide module     *|
|*    cache keyed by (SHA-256 of the image, device, context);                 *|
|*    mgpuModuleUnload releases a reference and leaves the module cached.     *|
|*  - mgpuModuleGetFunction is cached per (module, name): generated code      *|
|*    calls it before every launch, and a hit costs no driver call.           *|
|*  - The calling thread's current stream (adamas_runtime_set_current_stream) *|
|*    is borrowed: while one is set, mgpuStreamCreate returns it without      *|
|*    creating a stream, and mgpuStreamSynchronize / mgpuStreamDestroy on it  *|
|*    do nothing, so a whole step runs on the caller's stream.                *|
|*  - mgpuMemAlloc with a stream allocates stream-ordered from a pool that    *|
|*    keeps its memory (see below): steady-state steps make no OS allocation  *|
|*    and no host synchronization, and can be captured in a CUDA graph.       *|
|*  - A failed driver call is reported on stderr with the entry point, the    *|
|*    driver call and the CUDA error, recorded as the thread's last error     *|
|*    (adamas_runtime_last_error()) and counted (adamas_runtime_get_stats()); *|
|*    the function then returns NULL / does nothing. Nothing aborts.          *|
|*                                                                            *|
|* Like upstream, every call runs in the primary context of the calling       *|
|* thread's default device (mgpuSetDefaultDevice, default 0), pushed for the  *|
|* duration of the call and popped after, so a caller's current context is    *|
|* left alone; when it already is current, nothing is pushed. Streams are     *|
|* created non-blocking; events without timing.                               *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef ADAMAS_MGPU_H
#define ADAMAS_MGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adamas/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Modules and kernels. `data` is the gpu.binary object: a cubin or fatbin of
 * `gpuBlobSize` bytes, or for mgpuModuleLoadJIT NUL-terminated PTX. */
ADAMAS_RUNTIME_EXPORT void *mgpuModuleLoad(void *data, size_t gpuBlobSize);
ADAMAS_RUNTIME_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel);
ADAMAS_RUNTIME_EXPORT void mgpuModuleUnload(void *module);
ADAMAS_RUNTIME_EXPORT void *mgpuModuleGetFunction(void *module,
                                                  const char *name);

/* Launches; grid and block sizes are MLIR `index` values. `paramsCount` is
 * the number of entries of `params` (the lowering passes it; unused). */
ADAMAS_RUNTIME_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                            intptr_t gridY, intptr_t gridZ,
                                            intptr_t blockX, intptr_t blockY,
                                            intptr_t blockZ, int32_t smem,
                                            void *stream, void **params,
                                            void **extra, size_t paramsCount);
/* A cooperative launch (cuLaunchKernelEx with CU_LAUNCH_ATTRIBUTE_COOPERATIVE),
 * same arguments as mgpuLaunchKernel: every block of the grid is resident at
 * once, so a kernel may synchronize its whole grid (a grid-wide phase, e.g.
 * through a global-memory barrier or cooperative_groups' grid sync). A grid
 * larger than the device can hold at once fails with
 * CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE, reported like any launch error.
 * Not emitted by upstream's lowering. mgpuLaunchKernel launches the
 * compiler's kernels named ..._gridsync this way too (FunctionCache.h).
 * The attribute is valid for graph kernel nodes: stream capture records
 * it (the benchmarks replay such kernels from CUDA graphs on the H200). */
ADAMAS_RUNTIME_EXPORT void
mgpuLaunchCooperativeKernel(void *function, intptr_t gridX, intptr_t gridY,
                            intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                            intptr_t blockZ, int32_t smem, void *stream,
                            void **params, void **extra, size_t paramsCount);
/* The multiprocessors of the thread's default device (cached per thread and
 * device), for generated host code that sizes a grid every CTA of which
 * must be resident at once (a ..._gridsync kernel: the compiler's grid
 * assumes the chip's usual count, which a smaller part or a MIG slice does
 * not have). 0, reported like any driver error, where the driver cannot
 * say. Ours, not upstream's. */
ADAMAS_RUNTIME_EXPORT int32_t mgpuDeviceMultiprocessorCount(void);
ADAMAS_RUNTIME_EXPORT void
mgpuLaunchClusterKernel(void *function, intptr_t clusterX, intptr_t clusterY,
                        intptr_t clusterZ, intptr_t gridX, intptr_t gridY,
                        intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                        intptr_t blockZ, int32_t smem, void *stream,
                        void **params, void **extra);

/* Streams and events. mgpuStreamCreate returns the thread's current stream
 * if one is set; synchronizing or destroying that stream is a no-op. */
ADAMAS_RUNTIME_EXPORT void *mgpuStreamCreate(void);
ADAMAS_RUNTIME_EXPORT void mgpuStreamDestroy(void *stream);
ADAMAS_RUNTIME_EXPORT void mgpuStreamSynchronize(void *stream);
ADAMAS_RUNTIME_EXPORT void mgpuStreamWaitEvent(void *stream, void *event);
ADAMAS_RUNTIME_EXPORT void *mgpuEventCreate(void);
ADAMAS_RUNTIME_EXPORT void mgpuEventDestroy(void *event);
ADAMAS_RUNTIME_EXPORT void mgpuEventSynchronize(void *event);
ADAMAS_RUNTIME_EXPORT void mgpuEventRecord(void *event, void *stream);

/* Memory. `isHostShared` (an i8 in the lowering) selects managed memory
 * (cuMemAllocManaged). Device memory with a non-null `stream` comes from the
 * stream-ordered allocator: cuMemAllocAsync on `stream`, from the device's
 * default memory pool, whose release threshold the runtime raises to
 * UINT64_MAX once per device so freed memory stays reserved for the next
 * step (no OS allocation in steady state, no host synchronization, and
 * capturable in a CUDA graph). mgpuMemFree frees such memory with
 * cuMemFreeAsync on its `stream` (NULL: the legacy default stream) and any
 * other memory with cuMemFree. Device memory without a stream, or where the
 * driver or device lacks memory pools (noted once on stderr), comes from
 * cuMemAlloc as upstream. Copies and sets are ordered on `stream`. `count`
 * of the memsets is in elements. */
ADAMAS_RUNTIME_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, void *stream,
                                         bool isHostShared);
ADAMAS_RUNTIME_EXPORT void mgpuMemFree(void *ptr, void *stream);
ADAMAS_RUNTIME_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                                      void *stream);
ADAMAS_RUNTIME_EXPORT void mgpuMemset32(void *dst, uint32_t value,
                                        size_t count, void *stream);
ADAMAS_RUNTIME_EXPORT void mgpuMemset16(void *dst, uint16_t value,
                                        size_t count, void *stream);

/* Page-locks host memory. The MemRef variants take a ranked memref
 * descriptor {base, aligned, offset, sizes[rank], strides[rank]}. */
ADAMAS_RUNTIME_EXPORT void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes);
ADAMAS_RUNTIME_EXPORT void mgpuMemHostUnregister(void *ptr);
ADAMAS_RUNTIME_EXPORT void mgpuMemHostRegisterMemRef(int64_t rank,
                                                     void *descriptor,
                                                     int64_t elementSizeBytes);
ADAMAS_RUNTIME_EXPORT void
mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                            int64_t elementSizeBytes);

/* Builds a TMA descriptor (CUtensorMap) for a ranked memref descriptor and
 * returns a device copy of it (nvgpu.tma.create.descriptor). The enum
 * arguments are CUtensorMap* values, passed as i64 by the lowering;
 * `boxDims` has `rank` entries, outermost first. */
ADAMAS_RUNTIME_EXPORT void *mgpuTensorMapEncodeTiledMemref(
    int64_t rank, void *descriptor, int64_t dataType, int64_t interleave,
    int64_t swizzle, int64_t l2Promotion, int64_t oobFill, int64_t *boxDims);

/* Selects the device of the calling thread's later mgpu* calls. */
ADAMAS_RUNTIME_EXPORT void mgpuSetDefaultDevice(int32_t device);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ADAMAS_MGPU_H */
