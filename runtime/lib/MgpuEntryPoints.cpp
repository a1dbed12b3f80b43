//===- MgpuEntryPoints.cpp - The mgpu* functions MLIR host code calls -----===//
//
// Implements adamas/mgpu.h over the dlopen'ed driver. Each entry point gets
// the driver (reporting once per process if it cannot be loaded), runs its
// driver calls in the primary context of the thread's default device, and
// reports a failure with the entry point's name, the driver call and the
// CUDA error, then returns NULL or nothing, like upstream's wrappers.
//
//===----------------------------------------------------------------------===//

#include "adamas/mgpu.h"

#include "CudaDriver.h"
#include "CurrentStream.h"
#include "DeviceContext.h"
#include "DeviceMemory.h"
#include "Diagnostics.h"
#include "FunctionCache.h"
#include "KernelLaunch.h"
#include "ModuleLoader.h"

#include <atomic>
#include <cstring>

using namespace adamas::rt;
using namespace adamas::cuda;

namespace {
/// Set by mgpuSetDefaultDevice; per thread, as upstream.
thread_local int32_t defaultDevice = 0;

/// The driver, or null after reporting why there is none.
const CudaDriver *driverFor(const char *entryPoint) {
  std::string error;
  const CudaDriver *driver = CudaDriver::get(&error);
  if (driver)
    return driver;
  // A program without a driver would repeat the same paragraph on every
  // call; print it once, but keep every call's last error accurate.
  static std::atomic<bool> printed{false};
  std::string message = std::string(entryPoint) + ": " + error;
  if (!printed.exchange(true))
    reportError(message);
  else
    setLastError(message);
  return nullptr;
}

/// Reports a failed `status` under `entryPoint`; true if it succeeded.
bool succeeded(const Status &status, const char *entryPoint) {
  if (status.ok())
    return true;
  reportError(std::string(entryPoint) + ": " + status.message());
  return false;
}

/// Runs `call` (returning CUresult) in the default device's context and
/// reports a failure as `entryPoint`: `callName` failed.
template <typename Call>
bool runInContext(const char *entryPoint, const char *callName, Call call) {
  const CudaDriver *driver = driverFor(entryPoint);
  if (!driver)
    return false;
  ScopedContext context(*driver, defaultDevice);
  if (!succeeded(context.status(), entryPoint))
    return false;
  return succeeded(driver->check(call(*driver), callName), entryPoint);
}

/// Runs `body` (returning Status) in the default device's context and
/// reports a failure as `entryPoint`.
template <typename Body>
bool runStatusInContext(const char *entryPoint, Body body) {
  const CudaDriver *driver = driverFor(entryPoint);
  if (!driver)
    return false;
  ScopedContext context(*driver, defaultDevice);
  if (!succeeded(context.status(), entryPoint))
    return false;
  return succeeded(body(*driver), entryPoint);
}

CUdeviceptr toDevicePointer(const void *pointer) {
  return CUdeviceptr(reinterpret_cast<uintptr_t>(pointer));
}

/// The ranked memref descriptor layout of MLIR's LLVM lowering.
struct MemRefView {
  char *data = nullptr;
  const int64_t *sizes = nullptr;
  const int64_t *strides = nullptr;
};

MemRefView viewMemRef(void *descriptor, int64_t rank,
                      int64_t elementSizeBytes) {
  struct Prefix {
    char *allocated;
    char *aligned;
    int64_t offset;
  };
  auto *prefix = static_cast<Prefix *>(descriptor);
  MemRefView view;
  view.data = prefix->aligned + prefix->offset * elementSizeBytes;
  view.sizes = reinterpret_cast<const int64_t *>(prefix + 1);
  view.strides = view.sizes + rank;
  return view;
}
/// The launch of one of the mgpu*Launch* entry points, on the thread's
/// default device.
KernelLaunch makeLaunch(void *function, intptr_t gridX, intptr_t gridY,
                        intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                        intptr_t blockZ, int32_t smem, void *stream,
                        void **params, void **extra) {
  KernelLaunch launch;
  launch.function = static_cast<CUfunction>(function);
  launch.device = defaultDevice;
  launch.grid[0] = gridX, launch.grid[1] = gridY, launch.grid[2] = gridZ;
  launch.block[0] = blockX, launch.block[1] = blockY, launch.block[2] = blockZ;
  launch.sharedMemBytes = smem;
  launch.stream = static_cast<CUstream>(stream);
  launch.params = params;
  launch.extra = extra;
  launch.programmatic = programmaticLaunchAllowed(launch.function);
  launch.cooperative = cooperativeLaunchRequired(launch.function);
  return launch;
}
} // namespace

extern "C" {

void *mgpuModuleLoad(void *data, size_t gpuBlobSize) {
  const CudaDriver *driver = driverFor("mgpuModuleLoad");
  if (!driver)
    return nullptr;
  ModuleLoadRequest request;
  request.device = defaultDevice;
  request.image = data;
  request.size = gpuBlobSize;
  CUmodule module = nullptr;
  bool hit = false;
  if (!succeeded(loadModuleCached(*driver, request, &module, &hit),
                 "mgpuModuleLoad"))
    return nullptr;
  return module;
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  const CudaDriver *driver = driverFor("mgpuModuleLoadJIT");
  if (!driver)
    return nullptr;
  ModuleLoadRequest request;
  request.device = defaultDevice;
  request.image = data;
  // The lowering passes PTX as a NUL-terminated string without its size.
  request.size = data ? std::strlen(static_cast<const char *>(data)) : 0;
  request.jitOptLevel = optLevel < 0 ? 0 : optLevel;
  CUmodule module = nullptr;
  bool hit = false;
  if (!succeeded(loadModuleCached(*driver, request, &module, &hit),
                 "mgpuModuleLoadJIT"))
    return nullptr;
  return module;
}

void mgpuModuleUnload(void *module) {
  if (!module)
    return; // The load failed and was reported then.
  const CudaDriver *driver = driverFor("mgpuModuleUnload");
  if (!driver)
    return;
  (void)succeeded(
      releaseModule(*driver, static_cast<CUmodule>(module), defaultDevice),
      "mgpuModuleUnload");
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!module || !name) {
    reportError(std::string("mgpuModuleGetFunction: ") +
                (module ? "null kernel name"
                        : "null module (its load failed earlier)") +
                (name ? std::string(" looking up '") + name + "'" : ""));
    return nullptr;
  }
  const CudaDriver *driver = driverFor("mgpuModuleGetFunction");
  if (!driver)
    return nullptr;
  // Generated code looks the kernel up before every launch: cached.
  CUfunction function = nullptr;
  if (!succeeded(getFunctionCached(*driver, defaultDevice,
                                   static_cast<CUmodule>(module), name,
                                   &function),
                 "mgpuModuleGetFunction"))
    return nullptr;
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  const CudaDriver *driver = driverFor("mgpuLaunchKernel");
  if (!driver)
    return;
  KernelLaunch launch = makeLaunch(function, gridX, gridY, gridZ, blockX,
                                   blockY, blockZ, smem, stream, params, extra);
  (void)succeeded(launchKernel(*driver, launch), "mgpuLaunchKernel");
}

void mgpuLaunchCooperativeKernel(void *function, intptr_t gridX, intptr_t gridY,
                                 intptr_t gridZ, intptr_t blockX,
                                 intptr_t blockY, intptr_t blockZ, int32_t smem,
                                 void *stream, void **params, void **extra,
                                 size_t /*paramsCount*/) {
  const CudaDriver *driver = driverFor("mgpuLaunchCooperativeKernel");
  if (!driver)
    return;
  KernelLaunch launch = makeLaunch(function, gridX, gridY, gridZ, blockX,
                                   blockY, blockZ, smem, stream, params, extra);
  launch.cooperative = true;
  (void)succeeded(launchKernel(*driver, launch), "mgpuLaunchCooperativeKernel");
}

int32_t mgpuDeviceMultiprocessorCount(void) {
  // Generated host code asks before every step that may synchronise a grid.
  thread_local int32_t cachedDevice = -1, cachedCount = 0;
  if (cachedDevice == defaultDevice)
    return cachedCount;
  int count = 0;
  if (!runInContext("mgpuDeviceMultiprocessorCount",
                    "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)",
                    [&](const CudaDriver &driver) {
                      CUdevice device = 0;
                      CUresult result =
                          driver.cuDeviceGet(&device, defaultDevice);
                      if (result != CUDA_SUCCESS)
                        return result;
                      return driver.cuDeviceGetAttribute(
                          &count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                          device);
                    }))
    return 0;
  cachedDevice = defaultDevice;
  cachedCount = count;
  return count;
}

void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t smem, void *stream, void **params,
                             void **extra) {
  const CudaDriver *driver = driverFor("mgpuLaunchClusterKernel");
  if (!driver)
    return;
  KernelLaunch launch = makeLaunch(function, gridX, gridY, gridZ, blockX,
                                   blockY, blockZ, smem, stream, params, extra);
  launch.cluster[0] = clusterX, launch.cluster[1] = clusterY,
  launch.cluster[2] = clusterZ;
  if (!launch.cluster[0] && !launch.cluster[1] && !launch.cluster[2]) {
    reportError("mgpuLaunchClusterKernel: cluster size (0, 0, 0)");
    return;
  }
  (void)succeeded(launchKernel(*driver, launch), "mgpuLaunchClusterKernel");
}

void *mgpuStreamCreate(void) {
  // The caller's stream, borrowed: the step is enqueued on it (no driver
  // call, so this also works while the caller captures a CUDA graph).
  if (CUstream current = currentStream())
    return current;
  CUstream stream = nullptr;
  runInContext("mgpuStreamCreate", "cuStreamCreate",
               [&](const CudaDriver &driver) {
                 return driver.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING);
               });
  return stream;
}

void mgpuStreamDestroy(void *stream) {
  if (isCurrentStream(static_cast<CUstream>(stream)))
    return; // Borrowed by mgpuStreamCreate; the caller owns it.
  runInContext("mgpuStreamDestroy", "cuStreamDestroy",
               [&](const CudaDriver &driver) {
                 return driver.cuStreamDestroy(static_cast<CUstream>(stream));
               });
}

void mgpuStreamSynchronize(void *stream) {
  if (isCurrentStream(static_cast<CUstream>(stream)))
    return; // The caller synchronizes its own stream when it needs to.
  runInContext("mgpuStreamSynchronize", "cuStreamSynchronize",
               [&](const CudaDriver &driver) {
                 return driver.cuStreamSynchronize(
                     static_cast<CUstream>(stream));
               });
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  runInContext("mgpuStreamWaitEvent", "cuStreamWaitEvent",
               [&](const CudaDriver &driver) {
                 return driver.cuStreamWaitEvent(static_cast<CUstream>(stream),
                                                 static_cast<CUevent>(event),
                                                 /*flags=*/0);
               });
}

void *mgpuEventCreate(void) {
  CUevent event = nullptr;
  runInContext("mgpuEventCreate", "cuEventCreate",
               [&](const CudaDriver &driver) {
                 return driver.cuEventCreate(&event, CU_EVENT_DISABLE_TIMING);
               });
  return event;
}

void mgpuEventDestroy(void *event) {
  runInContext("mgpuEventDestroy", "cuEventDestroy",
               [&](const CudaDriver &driver) {
                 return driver.cuEventDestroy(static_cast<CUevent>(event));
               });
}

void mgpuEventSynchronize(void *event) {
  runInContext("mgpuEventSynchronize", "cuEventSynchronize",
               [&](const CudaDriver &driver) {
                 return driver.cuEventSynchronize(static_cast<CUevent>(event));
               });
}

void mgpuEventRecord(void *event, void *stream) {
  runInContext("mgpuEventRecord", "cuEventRecord",
               [&](const CudaDriver &driver) {
                 return driver.cuEventRecord(static_cast<CUevent>(event),
                                             static_cast<CUstream>(stream));
               });
}

void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared) {
  if (sizeBytes == 0)
    return nullptr; // As upstream: nothing to allocate, nothing to free.
  CUdeviceptr pointer = 0;
  if (isHostShared)
    runInContext("mgpuMemAlloc", "cuMemAllocManaged",
                 [&](const CudaDriver &driver) {
                   return driver.cuMemAllocManaged(&pointer, sizeBytes,
                                                   CU_MEM_ATTACH_GLOBAL);
                 });
  else
    runStatusInContext("mgpuMemAlloc", [&](const CudaDriver &driver) {
      return allocateDeviceMemory(driver, defaultDevice, sizeBytes,
                                  static_cast<CUstream>(stream), &pointer);
    });
  return reinterpret_cast<void *>(uintptr_t(pointer));
}

void mgpuMemFree(void *ptr, void *stream) {
  if (!ptr)
    return;
  runStatusInContext("mgpuMemFree", [&](const CudaDriver &driver) {
    return freeDeviceMemory(driver, toDevicePointer(ptr),
                            static_cast<CUstream>(stream));
  });
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream) {
  if (sizeBytes == 0)
    return;
  runInContext("mgpuMemcpy", "cuMemcpyAsync", [&](const CudaDriver &driver) {
    return driver.cuMemcpyAsync(toDevicePointer(dst), toDevicePointer(src),
                                sizeBytes, static_cast<CUstream>(stream));
  });
}

void mgpuMemset32(void *dst, uint32_t value, size_t count, void *stream) {
  if (count == 0)
    return;
  runInContext(
      "mgpuMemset32", "cuMemsetD32Async", [&](const CudaDriver &driver) {
        return driver.cuMemsetD32Async(toDevicePointer(dst), value, count,
                                       static_cast<CUstream>(stream));
      });
}

void mgpuMemset16(void *dst, uint16_t value, size_t count, void *stream) {
  if (count == 0)
    return;
  runInContext(
      "mgpuMemset16", "cuMemsetD16Async", [&](const CudaDriver &driver) {
        return driver.cuMemsetD16Async(toDevicePointer(dst), value, count,
                                       static_cast<CUstream>(stream));
      });
}

void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  runInContext("mgpuMemHostRegister", "cuMemHostRegister",
               [&](const CudaDriver &driver) {
                 return driver.cuMemHostRegister(ptr, sizeBytes, /*flags=*/0);
               });
}

void mgpuMemHostUnregister(void *ptr) {
  runInContext("mgpuMemHostUnregister", "cuMemHostUnregister",
               [&](const CudaDriver &driver) {
                 return driver.cuMemHostUnregister(ptr);
               });
}

void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSizeBytes) {
  if (!descriptor || rank < 0 || elementSizeBytes <= 0) {
    reportError("mgpuMemHostRegisterMemRef: invalid memref (rank " +
                std::to_string(rank) + ", element size " +
                std::to_string(elementSizeBytes) + ")");
    return;
  }
  MemRefView view = viewMemRef(descriptor, rank, elementSizeBytes);
  // Only dense row-major memrefs are one contiguous range to register.
  int64_t elements = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (view.sizes[i] != 1 && view.strides[i] != elements) {
      reportError("mgpuMemHostRegisterMemRef: dimension " + std::to_string(i) +
                  " has stride " + std::to_string(view.strides[i]) +
                  ", a dense layout needs " + std::to_string(elements));
      return;
    }
    elements *= view.sizes[i];
  }
  if (elements == 0)
    return;
  mgpuMemHostRegister(view.data, uint64_t(elements * elementSizeBytes));
}

void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSizeBytes) {
  if (!descriptor || rank < 0 || elementSizeBytes <= 0) {
    reportError("mgpuMemHostUnregisterMemRef: invalid memref");
    return;
  }
  mgpuMemHostUnregister(viewMemRef(descriptor, rank, elementSizeBytes).data);
}

void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *descriptor,
                                     int64_t dataType, int64_t interleave,
                                     int64_t swizzle, int64_t l2Promotion,
                                     int64_t oobFill, int64_t *boxDims) {
  // Bytes per element of CUtensorMapDataType UINT8 .. TFLOAT32_FTZ.
  static constexpr int64_t kElementBytes[] = {1, 2, 4, 4, 8, 8, 2,
                                              4, 8, 2, 4, 4, 4};
  constexpr int64_t kNumTypes =
      sizeof(kElementBytes) / sizeof(kElementBytes[0]);
  if (rank < 1 || rank > 5 || !descriptor || !boxDims || dataType < 0 ||
      dataType >= kNumTypes) {
    reportError("mgpuTensorMapEncodeTiledMemref: unsupported rank " +
                std::to_string(rank) + " or data type " +
                std::to_string(dataType) + " (ranks 1-5, types 0-12)");
    return nullptr;
  }
  int64_t elementBytes = kElementBytes[dataType];
  MemRefView view = viewMemRef(descriptor, rank, elementBytes);
  // The driver wants the innermost dimension first; strides of dimensions
  // 1.. in bytes (dimension 0 is implicitly dense).
  uint64_t globalDim[5] = {1, 1, 1, 1, 1}, globalStrides[5] = {0};
  uint32_t boxDim[5] = {1, 1, 1, 1, 1}, elementStrides[5] = {1, 1, 1, 1, 1};
  for (int64_t i = 0; i < rank; ++i) {
    globalDim[i] = uint64_t(view.sizes[rank - 1 - i]);
    boxDim[i] = uint32_t(boxDims[rank - 1 - i]);
  }
  for (int64_t i = 0; i + 1 < rank; ++i)
    globalStrides[i] = uint64_t(view.strides[rank - 2 - i] * elementBytes);

  CUtensorMap tensorMap;
  if (!runInContext("mgpuTensorMapEncodeTiledMemref", "cuTensorMapEncodeTiled",
                    [&](const CudaDriver &driver) {
                      return driver.cuTensorMapEncodeTiled(
                          &tensorMap, CUtensorMapDataType(dataType),
                          uint32_t(rank), view.data, globalDim, globalStrides,
                          boxDim, elementStrides,
                          CUtensorMapInterleave(interleave),
                          CUtensorMapSwizzle(swizzle),
                          CUtensorMapL2promotion(l2Promotion),
                          CUtensorMapFloatOOBfill(oobFill));
                    }))
    return nullptr;
  // Kernels take the descriptor from device memory (as upstream; it lives
  // as long as the process).
  CUdeviceptr deviceCopy = 0;
  if (!runInContext("mgpuTensorMapEncodeTiledMemref", "cuMemAlloc",
                    [&](const CudaDriver &driver) {
                      return driver.cuMemAlloc(&deviceCopy, sizeof(tensorMap));
                    }))
    return nullptr;
  if (!runInContext("mgpuTensorMapEncodeTiledMemref", "cuMemcpyHtoD",
                    [&](const CudaDriver &driver) {
                      return driver.cuMemcpyHtoD(deviceCopy, &tensorMap,
                                                 sizeof(tensorMap));
                    }))
    return nullptr;
  return reinterpret_cast<void *>(uintptr_t(deviceCopy));
}

void mgpuSetDefaultDevice(int32_t device) { defaultDevice = device; }

} // extern "C"
