//===- FunctionCache.h - Cached kernel lookups ------------------*- C++ -*-===//
//
// Generated host code calls mgpuModuleGetFunction(module, name) before every
// launch. The process-wide cache here answers repeated lookups with a hash
// lookup under a mutex, without a driver call or a context switch, and also
// remembers how much dynamic shared memory each kernel it handed out was
// opted into, so a launch above 48 KiB calls cuFuncSetAttribute once per
// kernel (and size increase), not once per launch.
//
// It also remembers whether a kernel's module declares the global
// `adamas_grid_dependency_wait` (kGridDependencyMarker): the compiler emits it
// into modules whose every kernel executes `griddepcontrol.wait` before it
// touches global memory the kernels before it use (or, touching none, before
// it exits), so they may be launched with programmatic stream
// serialization (programmatic dependent launch: the kernel's launch overlaps
// the tail of the one before it on the stream, and its wait still sees all of
// that kernel's writes).
//
// And whether a kernel's name ends with `_gridsync` (kGridSyncSuffix): the
// kernel's CTAs meet at a grid-wide barrier, so it is launched
// cooperatively, whichever mgpu entry point launches it.
//
// A module's entries are dropped when the runtime unloads the module
// (forgetModuleFunctions), because the driver may give a later module the
// same handle. Kernels obtained elsewhere are unknown here: their opt-in is
// never cached.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_FUNCTIONCACHE_H
#define ADAMAS_RUNTIME_FUNCTIONCACHE_H

#include "CudaDriver.h"

namespace adamas::rt {

/// Kernel `name` of `module` (loaded on `device`): from the cache, else from
/// cuModuleGetFunction in the device's primary context (a failure names the
/// kernel and is not cached).
Status getFunctionCached(const CudaDriver &driver, int device,
                         cuda::CUmodule module, const char *name,
                         cuda::CUfunction *out);

/// The largest dynamic shared memory size a cached kernel was opted into
/// (noteSharedMemoryOptIn), or 0 if none or the kernel is not cached.
int64_t sharedMemoryOptIn(cuda::CUfunction function);
/// Records that `function` now allows `bytes` of dynamic shared memory; a
/// no-op for kernels the cache does not know.
void noteSharedMemoryOptIn(cuda::CUfunction function, int64_t bytes);

/// Whether a cached kernel was opted into clusters of more than 8 CTAs
/// (noteNonPortableClusterOptIn); false for kernels the cache does not know.
bool nonPortableClusterOptIn(cuda::CUfunction function);
void noteNonPortableClusterOptIn(cuda::CUfunction function);

/// The global a module declares when all its kernels wait on their grid
/// dependencies before touching global memory.
inline constexpr const char *kGridDependencyMarker =
    "adamas_grid_dependency_wait";

/// Whether a cached kernel may be launched with programmatic stream
/// serialization: its module declares kGridDependencyMarker, the driver has
/// cuModuleGetGlobal, and ADAMAS_PROGRAMMATIC_LAUNCH is not "0". False for
/// kernels the cache does not know.
bool programmaticLaunchAllowed(cuda::CUfunction function);

/// The suffix of the name the compiler gives a kernel whose CTAs meet at a
/// grid-wide barrier (the compiler's TargetInfo.h, the same suffix): every
/// CTA must be resident at once. (A name rather than a global to look up:
/// a failed cuModuleGetGlobal, for every other kernel, would be a CUDA API
/// error to compute-sanitizer.)
inline constexpr const char *kGridSyncSuffix = "_gridsync";

/// Whether a cached kernel must be launched cooperatively (its name ends
/// with kGridSyncSuffix): a cooperative launch places every CTA at once, or
/// fails with CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE where the grid cannot
/// be, instead of hanging at the barrier. False for kernels the cache does
/// not know.
bool cooperativeLaunchRequired(cuda::CUfunction function);

/// Drops the entries of `module`; call before it is unloaded.
void forgetModuleFunctions(cuda::CUmodule module);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_FUNCTIONCACHE_H
