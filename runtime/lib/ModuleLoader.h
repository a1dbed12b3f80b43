//===- ModuleLoader.h - Loading images through the module cache -*- C++ -*-===//
//
// The one path by which mgpuModuleLoad, mgpuModuleLoadJIT and the C API turn
// image bytes into a CUmodule: activate the device's primary context, key
// the image by content, and let the process-wide ModuleCache decide whether
// the driver has to load it.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_MODULELOADER_H
#define ADAMAS_RUNTIME_MODULELOADER_H

#include "CudaDriver.h"
#include "Hash.h"

namespace adamas::rt {

struct ModuleLoadRequest {
  int device = 0;
  const void *image = nullptr;
  size_t size = 0;
  /// SHA-256 of the image if the caller knows it already (a cached artifact
  /// does); otherwise the image is hashed here.
  const Digest *contentHash = nullptr;
  /// -1 for a binary (cubin/fatbin, cuModuleLoadData); otherwise the image
  /// is PTX JIT-compiled at this optimization level (cuModuleLoadDataEx).
  int jitOptLevel = -1;
};

/// Returns the cached or freshly loaded module with one more reference in
/// the module cache; `hit` says which.
Status loadModuleCached(const CudaDriver &driver,
                        const ModuleLoadRequest &request, cuda::CUmodule *out,
                        bool *hit);

/// Drops a reference from loadModuleCached(). Modules that did not come from
/// the cache are unloaded with cuModuleUnload, as upstream would, in the
/// primary context of `device`.
Status releaseModule(const CudaDriver &driver, cuda::CUmodule module,
                     int device);

/// Unloads every unreferenced module of the cache; returns how many.
size_t trimModuleCache(const CudaDriver &driver);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_MODULELOADER_H
