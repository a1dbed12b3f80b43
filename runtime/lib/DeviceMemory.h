//===- DeviceMemory.h - Memory of mgpuMemAlloc and mgpuMemFree --*- C++ -*-===//
//
// Generated host code allocates a step's scratch buffers with
// `gpu.alloc async` (mgpuMemAlloc with the step's stream) and frees them with
// `gpu.dealloc async`. With a stream, they come from the stream-ordered
// allocator (cuMemAllocAsync / cuMemFreeAsync) on the device's default
// memory pool, whose release threshold is raised once per device so freed
// memory stays in the pool across synchronizations: a steady-state step
// reuses memory without asking the OS, never synchronizes the host, and can
// be captured into a CUDA graph (capture turns the calls into memory nodes).
//
// Without a stream, or where the driver lacks the allocator or the device
// memory pools, memory comes from cuMemAlloc and goes back with cuMemFree, as
// upstream's wrappers do (with a one-time note for the fallback). Which
// pointers came from which allocator is recorded, so every free matches its
// allocation. Thread-safe.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_DEVICEMEMORY_H
#define ADAMAS_RUNTIME_DEVICEMEMORY_H

#include "CudaDriver.h"

namespace adamas::rt {

/// Allocates `bytes` of device memory on `device` for use on `stream` (see
/// above). The device's primary context must be current.
Status allocateDeviceMemory(const CudaDriver &driver, int device,
                            uint64_t bytes, cuda::CUstream stream,
                            cuda::CUdeviceptr *out);

/// Frees memory from allocateDeviceMemory (ordered on `stream` if it came
/// from the stream-ordered allocator; a null stream is then the legacy
/// default stream) or from any cuMemAlloc* call (cuMemFree). The pointer's
/// context must be current.
Status freeDeviceMemory(const CudaDriver &driver, cuda::CUdeviceptr pointer,
                        cuda::CUstream stream);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_DEVICEMEMORY_H
