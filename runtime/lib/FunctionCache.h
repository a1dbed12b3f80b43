//===- FunctionCache.h - Cached kernel lookups ------------------*- C++ -*-===//
//
// Generated host code calls mgpuModuleGetFunction(module, name) before every
// launch. The process-wide cache here answers repeated lookups with a hash
// lookup under a mutex, without a driver call or a context switch, and also
// remembers how much dynamic shared memory each kernel it handed out was
// opted into, so a launch above 48 KiB calls cuFuncSetAttribute once per
// kernel (and size increase), not once per launch.
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

/// Drops the entries of `module`; call before it is unloaded.
void forgetModuleFunctions(cuda::CUmodule module);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_FUNCTIONCACHE_H
