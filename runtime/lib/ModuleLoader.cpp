//===- ModuleLoader.cpp - Loading images through the module cache ---------===//

#include "ModuleLoader.h"

#include "DeviceContext.h"
#include "Diagnostics.h"
#include "FunctionCache.h"
#include "ModuleCache.h"

#include <cstdint>

namespace adamas::rt {

namespace {
Status loadWithDriver(const CudaDriver &driver,
                      const ModuleLoadRequest &request, cuda::CUmodule *out) {
  if (request.jitOptLevel < 0)
    return driver.check(driver.cuModuleLoadData(out, request.image),
                        "cuModuleLoadData");

  // PTX: the JIT's error log is the only useful part of a failure.
  char errorLog[8192] = {0};
  cuda::CUjit_option options[] = {cuda::CU_JIT_OPTIMIZATION_LEVEL,
                                  cuda::CU_JIT_ERROR_LOG_BUFFER,
                                  cuda::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {reinterpret_cast<void *>(uintptr_t(request.jitOptLevel)),
                    errorLog,
                    reinterpret_cast<void *>(uintptr_t(sizeof(errorLog)))};
  Status status = driver.check(
      driver.cuModuleLoadDataEx(out, request.image, 3, options, values),
      "cuModuleLoadDataEx (PTX JIT)");
  if (!status.ok() && errorLog[0])
    return Status::error(status.code(),
                         status.message() + "; JIT log: " + errorLog);
  return status;
}
} // namespace

Status loadModuleCached(const CudaDriver &driver,
                        const ModuleLoadRequest &request, cuda::CUmodule *out,
                        bool *hit) {
  if (!request.image || request.size == 0)
    return Status::error(ADAMAS_ERROR_INVALID_ARGUMENT,
                         "null or empty module image");
  uint64_t start = monotonicNanoseconds();
  ScopedContext context(driver, request.device);
  if (!context.status().ok())
    return context.status();

  ModuleKey key;
  key.content = request.contentHash
                    ? *request.contentHash
                    : Sha256::hash(request.image, request.size);
  key.device = request.device;
  key.context = context.context();
  key.jitOptLevel = request.jitOptLevel;

  ModuleCache &cache = ModuleCache::global();
  Status status = cache.acquire(
      key,
      [&](cuda::CUmodule *module) {
        return loadWithDriver(driver, request, module);
      },
      out, hit);
  if (!status.ok())
    return status;
  uint64_t elapsed = monotonicNanoseconds() - start;
  if (*hit)
    cache.recordHitTime(elapsed);
  if (verboseEnabled())
    logVerbose(std::string(*hit ? "module cache hit " : "module loaded ") +
               key.content.hex().substr(0, 16) + " (" +
               std::to_string(request.size) + " bytes, device " +
               std::to_string(request.device) + ") in " +
               std::to_string(elapsed / 1000) + " us");
  return Status::success();
}

Status releaseModule(const CudaDriver &driver, cuda::CUmodule module,
                     int device) {
  if (ModuleCache::global().release(module))
    return Status::success();
  ScopedContext context(driver, device);
  if (!context.status().ok())
    return context.status();
  forgetModuleFunctions(module);
  return driver.check(driver.cuModuleUnload(module), "cuModuleUnload");
}

size_t trimModuleCache(const CudaDriver &driver) {
  return ModuleCache::global().trim([&](cuda::CUmodule module, int device) {
    ScopedContext context(driver, device);
    forgetModuleFunctions(module);
    Status status =
        driver.check(driver.cuModuleUnload(module), "cuModuleUnload");
    if (!status.ok())
      warn("trimming the module cache: " + status.message());
  });
}

} // namespace adamas::rt
