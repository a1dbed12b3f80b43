//===- KernelLaunch.h - Launching a kernel ----------------------*- C++ -*-===//
//
// The launch path shared by mgpuLaunchKernel, mgpuLaunchClusterKernel,
// mgpuLaunchCooperativeKernel and adamas_launch: checks the sizes (MLIR
// passes them as `index`, the driver takes unsigned), opts into large
// dynamic shared memory, launches in the device's primary context and counts
// successful launches.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_KERNELLAUNCH_H
#define ADAMAS_RUNTIME_KERNELLAUNCH_H

#include "CudaDriver.h"

#include <cstdint>

namespace adamas::rt {

struct KernelLaunch {
  cuda::CUfunction function = nullptr;
  int device = 0;
  int64_t grid[3] = {1, 1, 1};
  int64_t block[3] = {1, 1, 1};
  /// All zero: an ordinary launch; otherwise a thread block cluster launch.
  int64_t cluster[3] = {0, 0, 0};
  /// A cooperative launch (CU_LAUNCH_ATTRIBUTE_COOPERATIVE): all blocks are
  /// resident at once, or the driver refuses the launch, so the kernel may
  /// synchronize its whole grid.
  bool cooperative = false;
  /// Programmatic stream serialization (CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_
  /// STREAM_SERIALIZATION): the kernel may start before the previous kernel
  /// on the stream has finished; it must `griddepcontrol.wait` before it
  /// touches global memory (FunctionCache.h: programmaticLaunchAllowed).
  bool programmatic = false;
  int64_t sharedMemBytes = 0;
  cuda::CUstream stream = nullptr;
  void **params = nullptr;
  void **extra = nullptr;
};

Status launchKernel(const CudaDriver &driver, const KernelLaunch &launch);

/// Successful launches in this process.
uint64_t kernelLaunchCount();

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_KERNELLAUNCH_H
