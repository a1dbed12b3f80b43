//===- FakeCudaDriver.cpp - A CUDA driver stand-in for the unit tests -----===//
//
// Built as libadamas_fake_cuda.so, which the tests select with
// ADAMAS_CUDA_DRIVER. It exports the same symbols as libcuda with the
// signatures of CudaDriverApi.h and models just enough of the driver to
// check how the runtime drives it (see FakeCudaDriverControl.h). One mutex
// serializes everything: the fake has to be correct, not fast.
//
//===----------------------------------------------------------------------===//

#include "CudaDriverApi.h"
#include "FakeCudaDriverControl.h"
#include "FakeKernels.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

using namespace adamas::cuda;

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

// The handle types' structs, which CudaDriverApi.h declares in its namespace.
namespace adamas::cuda {
struct CUctx_st {
  int device;
};
struct CUmod_st {
  std::string image;
  std::map<std::string, CUfunc_st *> functions;
};
struct CUfunc_st {
  std::string name;
  CUmod_st *module;
  int maxDynamicSharedBytes = 0;
  bool nonPortableClusters = false;
};
struct CUstream_st {
  unsigned flags;
};
struct CUevent_st {
  unsigned flags;
};
/// A device's default memory pool: blocks it reserved from the "OS"
/// (aligned_alloc), of which those not in use wait in `freeBlocks`.
struct CUmemPoolHandle_st {
  int device;
  uint64_t releaseThreshold = 0; // The driver's default.
  uint64_t reservedBytes = 0;
  std::multimap<size_t, CUdeviceptr> freeBlocks; // size -> block
};
} // namespace adamas::cuda

namespace {
std::recursive_mutex mutex;
std::map<std::string, uint64_t> callCounts;
std::map<std::string, int> injectedFailures;
std::map<int, CUctx_st *> primaryContexts;
std::set<CUmod_st *> modules;
std::set<CUdeviceptr> allocations;
std::set<CUstream_st *> streams;
std::set<CUevent_st *> events;
std::set<void *> registeredHost;
std::map<int, CUmemPoolHandle_st *> defaultPools;
/// Pool blocks in use (also in `allocations`) and every pool block's size.
std::map<CUdeviceptr, CUmemPoolHandle_st *> poolAllocations;
std::map<CUdeviceptr, size_t> poolBlockSizes;
uint64_t poolGrowths = 0, poolReleases = 0;
bool haveLaunch = false;
FakeLaunchRecord lastLaunch;
bool haveTensorMap = false;
FakeTensorMapRecord lastTensorMap;
thread_local std::vector<CUctx_st *> contextStack;

/// Null (the legacy default stream), the special handles CU_STREAM_LEGACY
/// (0x1) and CU_STREAM_PER_THREAD (0x2), or a stream that exists.
bool validStream(CUstream stream) {
  uintptr_t value = reinterpret_cast<uintptr_t>(stream);
  return value <= 2 || streams.count(stream);
}

int envInt(const char *name, int fallback) {
  const char *text = std::getenv(name);
  return text && *text ? std::atoi(text) : fallback;
}

/// Counts the call and returns an injected failure, if any.
CUresult enter(const char *name) {
  ++callCounts[name];
  auto found = injectedFailures.find(name);
  if (found == injectedFailures.end())
    return CUDA_SUCCESS;
  CUresult error = found->second;
  injectedFailures.erase(found);
  return error;
}

/// Like enter(), and also demands a current context.
CUresult enterInContext(const char *name) {
  CUresult result = enter(name);
  if (result != CUDA_SUCCESS)
    return result;
  return contextStack.empty() ? CUDA_ERROR_INVALID_CONTEXT : CUDA_SUCCESS;
}

uint64_t loadLittleEndian(const unsigned char *p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= uint64_t(p[i]) << (8 * i);
  return value;
}

/// The size of an image the way the real driver would find it: from the ELF
/// or fatbin header, or up to the NUL of text images. 0 if unrecognized.
size_t imageSize(const void *image) {
  const unsigned char *bytes = static_cast<const unsigned char *>(image);
  if (std::memcmp(bytes, "\x7f" "ELF", 4) == 0) {
    uint64_t sectionHeaders = loadLittleEndian(bytes + 0x28, 8);
    uint64_t sectionSize = loadLittleEndian(bytes + 0x3a, 2);
    uint64_t sectionCount = loadLittleEndian(bytes + 0x3c, 2);
    uint64_t programHeaders = loadLittleEndian(bytes + 0x20, 8);
    uint64_t programSize = loadLittleEndian(bytes + 0x36, 2);
    uint64_t programCount = loadLittleEndian(bytes + 0x38, 2);
    uint64_t end = sectionHeaders + sectionSize * sectionCount;
    uint64_t programEnd = programHeaders + programSize * programCount;
    return size_t(end > programEnd ? end : programEnd);
  }
  if (loadLittleEndian(bytes, 4) == 0xBA55ED50) // fatbin
    return size_t(loadLittleEndian(bytes + 6, 2) + loadLittleEndian(bytes + 8, 8));
  const char *text = static_cast<const char *>(image);
  if (std::strncmp(text, "FAKE:", 5) == 0 || std::strncmp(text, "//", 2) == 0 ||
      std::strstr(text, ".version") != nullptr)
    return std::strlen(text);
  return 0;
}

CUresult loadModule(CUmodule *out, const void *image, bool jit,
                    char *errorLog, size_t errorLogSize) {
  if (!out || !image)
    return CUDA_ERROR_INVALID_VALUE;
  size_t size = imageSize(image);
  if (size == 0)
    return CUDA_ERROR_INVALID_IMAGE;
  auto *module = new CUmod_st;
  module->image.assign(static_cast<const char *>(image), size);
  if (module->image.find("FAKE-BAD") != std::string::npos) {
    delete module;
    return CUDA_ERROR_INVALID_IMAGE;
  }
  if (jit && module->image.find("FAKE-JIT-ERROR") != std::string::npos) {
    if (errorLog && errorLogSize)
      std::snprintf(errorLog, errorLogSize, "ptxas fatal: fake JIT error");
    delete module;
    return CUDA_ERROR_INVALID_PTX;
  }
  modules.insert(module);
  *out = module;
  return CUDA_SUCCESS;
}

const char *errorName(CUresult error) {
  switch (error) {
  case CUDA_SUCCESS: return "CUDA_SUCCESS";
  case CUDA_ERROR_INVALID_VALUE: return "CUDA_ERROR_INVALID_VALUE";
  case CUDA_ERROR_OUT_OF_MEMORY: return "CUDA_ERROR_OUT_OF_MEMORY";
  case CUDA_ERROR_NOT_INITIALIZED: return "CUDA_ERROR_NOT_INITIALIZED";
  case CUDA_ERROR_NO_DEVICE: return "CUDA_ERROR_NO_DEVICE";
  case CUDA_ERROR_INVALID_DEVICE: return "CUDA_ERROR_INVALID_DEVICE";
  case CUDA_ERROR_INVALID_IMAGE: return "CUDA_ERROR_INVALID_IMAGE";
  case CUDA_ERROR_INVALID_CONTEXT: return "CUDA_ERROR_INVALID_CONTEXT";
  case CUDA_ERROR_INVALID_PTX: return "CUDA_ERROR_INVALID_PTX";
  case CUDA_ERROR_INVALID_HANDLE: return "CUDA_ERROR_INVALID_HANDLE";
  case CUDA_ERROR_NOT_FOUND: return "CUDA_ERROR_NOT_FOUND";
  case CUDA_ERROR_LAUNCH_FAILED: return "CUDA_ERROR_LAUNCH_FAILED";
  case CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE:
    return "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE";
  case CUDA_ERROR_INVALID_CLUSTER_SIZE:
    return "CUDA_ERROR_INVALID_CLUSTER_SIZE";
  case CUDA_ERROR_NOT_SUPPORTED: return "CUDA_ERROR_NOT_SUPPORTED";
  }
  return nullptr;
}

const char *errorString(CUresult error) {
  switch (error) {
  case CUDA_SUCCESS: return "no error";
  case CUDA_ERROR_INVALID_VALUE: return "invalid argument";
  case CUDA_ERROR_OUT_OF_MEMORY: return "out of memory";
  case CUDA_ERROR_NOT_INITIALIZED: return "initialization error";
  case CUDA_ERROR_NO_DEVICE: return "no CUDA-capable device is detected";
  case CUDA_ERROR_INVALID_DEVICE: return "invalid device ordinal";
  case CUDA_ERROR_INVALID_IMAGE: return "device kernel image is invalid";
  case CUDA_ERROR_INVALID_CONTEXT: return "invalid device context";
  case CUDA_ERROR_INVALID_PTX: return "a PTX JIT compilation failed";
  case CUDA_ERROR_INVALID_HANDLE: return "invalid resource handle";
  case CUDA_ERROR_NOT_FOUND: return "named symbol not found";
  case CUDA_ERROR_LAUNCH_FAILED: return "unspecified launch failure";
  case CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE:
    return "too many blocks in cooperative launch";
  case CUDA_ERROR_INVALID_CLUSTER_SIZE:
    return "invalid cluster size";
  case CUDA_ERROR_NOT_SUPPORTED: return "operation not supported";
  }
  return nullptr;
}

CUresult recordLaunch(CUfunction f, const unsigned grid[3],
                      const unsigned block[3], const unsigned cluster[3],
                      unsigned smem, CUstream stream, void **params,
                      bool cooperative = false, bool programmatic = false) {
  if (!f || f->module == nullptr || !modules.count(f->module))
    return CUDA_ERROR_INVALID_HANDLE;
  if (!validStream(stream))
    return CUDA_ERROR_INVALID_HANDLE;
  for (int i = 0; i < 3; ++i)
    if (grid[i] == 0 || block[i] == 0)
      return CUDA_ERROR_INVALID_VALUE;
  if (block[0] * block[1] * block[2] > 1024)
    return CUDA_ERROR_INVALID_VALUE;
  if (smem > 48 * 1024 && int(smem) > f->maxDynamicSharedBytes)
    return CUDA_ERROR_INVALID_VALUE;
  haveLaunch = true;
  std::memset(&lastLaunch, 0, sizeof(lastLaunch));
  std::snprintf(lastLaunch.function, sizeof(lastLaunch.function), "%s",
                f->name.c_str());
  for (int i = 0; i < 3; ++i) {
    lastLaunch.grid[i] = grid[i];
    lastLaunch.block[i] = block[i];
    lastLaunch.cluster[i] = cluster ? cluster[i] : 0;
  }
  lastLaunch.sharedMemBytes = smem;
  lastLaunch.stream = stream;
  lastLaunch.params = params;
  lastLaunch.maxDynamicSharedBytes = f->maxDynamicSharedBytes;
  lastLaunch.nonPortableClusters = f->nonPortableClusters;
  lastLaunch.cooperative = cooperative;
  lastLaunch.programmatic = programmatic;
  return runFakeKernel(f->name, grid, block, params) ? CUDA_SUCCESS
                                                     : CUDA_ERROR_LAUNCH_FAILED;
}
} // namespace

#define LOCKED std::lock_guard<std::recursive_mutex> lock(mutex)

FAKE_EXPORT CUresult cuGetErrorName(CUresult error, const char **out) {
  *out = errorName(error);
  return *out ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

FAKE_EXPORT CUresult cuGetErrorString(CUresult error, const char **out) {
  *out = errorString(error);
  return *out ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

FAKE_EXPORT CUresult cuInit(unsigned flags) {
  LOCKED;
  if (CUresult r = enter("cuInit"))
    return r;
  if (flags != 0)
    return CUDA_ERROR_INVALID_VALUE;
  return CUresult(envInt("FAKECUDA_INIT_ERROR", CUDA_SUCCESS));
}

FAKE_EXPORT CUresult cuDriverGetVersion(int *version) {
  LOCKED;
  if (CUresult r = enter("cuDriverGetVersion"))
    return r;
  *version = envInt("FAKECUDA_DRIVER_VERSION", 13000);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDeviceGetCount(int *count) {
  LOCKED;
  if (CUresult r = enter("cuDeviceGetCount"))
    return r;
  *count = envInt("FAKECUDA_DEVICE_COUNT", 1);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  LOCKED;
  if (CUresult r = enter("cuDeviceGet"))
    return r;
  if (ordinal < 0 || ordinal >= envInt("FAKECUDA_DEVICE_COUNT", 1))
    return CUDA_ERROR_INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute attribute,
                                          CUdevice device) {
  LOCKED;
  if (CUresult r = enter("cuDeviceGetAttribute"))
    return r;
  if (device < 0 || device >= envInt("FAKECUDA_DEVICE_COUNT", 1))
    return CUDA_ERROR_INVALID_DEVICE;
  switch (attribute) {
  case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
    *value = envInt("FAKECUDA_MULTIPROCESSORS", 132); // An H100 SXM's, an H200's.
    break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 9; break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; break;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN:
    *value = 232448; // An H100's 227 KiB.
    break;
  case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED:
    *value = envInt("FAKECUDA_NO_MEMORY_POOLS", 0) ? 0 : 1;
    break;
  default: return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice device) {
  LOCKED;
  if (CUresult r = enter("cuDevicePrimaryCtxRetain"))
    return r;
  if (device < 0 || device >= envInt("FAKECUDA_DEVICE_COUNT", 1))
    return CUDA_ERROR_INVALID_DEVICE;
  CUctx_st *&primary = primaryContexts[device];
  if (!primary)
    primary = new CUctx_st{device};
  *context = primary;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuCtxPushCurrent_v2(CUcontext context) {
  LOCKED;
  if (CUresult r = enter("cuCtxPushCurrent_v2"))
    return r;
  if (!context)
    return CUDA_ERROR_INVALID_CONTEXT;
  contextStack.push_back(context);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuCtxPopCurrent_v2(CUcontext *context) {
  LOCKED;
  if (CUresult r = enter("cuCtxPopCurrent_v2"))
    return r;
  if (contextStack.empty())
    return CUDA_ERROR_INVALID_CONTEXT;
  if (context)
    *context = contextStack.back();
  contextStack.pop_back();
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuCtxGetCurrent(CUcontext *context) {
  LOCKED;
  if (CUresult r = enter("cuCtxGetCurrent"))
    return r;
  if (!context)
    return CUDA_ERROR_INVALID_VALUE;
  *context = contextStack.empty() ? nullptr : contextStack.back();
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuModuleLoadData(CUmodule *module, const void *image) {
  LOCKED;
  if (CUresult r = enterInContext("cuModuleLoadData"))
    return r;
  return loadModule(module, image, /*jit=*/false, nullptr, 0);
}

FAKE_EXPORT CUresult cuModuleLoadDataEx(CUmodule *module, const void *image,
                                        unsigned numOptions, CUjit_option *options,
                                        void **values) {
  LOCKED;
  if (CUresult r = enterInContext("cuModuleLoadDataEx"))
    return r;
  char *log = nullptr;
  size_t logSize = 0;
  for (unsigned i = 0; i < numOptions; ++i) {
    if (options[i] == CU_JIT_ERROR_LOG_BUFFER)
      log = static_cast<char *>(values[i]);
    if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
      logSize = size_t(reinterpret_cast<uintptr_t>(values[i]));
  }
  return loadModule(module, image, /*jit=*/true, log, logSize);
}

FAKE_EXPORT CUresult cuModuleUnload(CUmodule module) {
  LOCKED;
  if (CUresult r = enterInContext("cuModuleUnload"))
    return r;
  if (!modules.erase(module))
    return CUDA_ERROR_INVALID_HANDLE;
  for (auto &entry : module->functions)
    entry.second->module = nullptr;
  delete module;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuModuleGetFunction(CUfunction *function, CUmodule module,
                                         const char *name) {
  LOCKED;
  if (CUresult r = enterInContext("cuModuleGetFunction"))
    return r;
  if (!modules.count(module) || !name)
    return CUDA_ERROR_INVALID_HANDLE;
  if (!*name || module->image.find(name) == std::string::npos)
    return CUDA_ERROR_NOT_FOUND;
  CUfunc_st *&entry = module->functions[name];
  if (!entry)
    entry = new CUfunc_st{name, module};
  *function = entry;
  return CUDA_SUCCESS;
}

// A module has a global of every name its image mentions (as it has every
// kernel it mentions).
FAKE_EXPORT CUresult cuModuleGetGlobal_v2(CUdeviceptr *address, size_t *bytes,
                                          CUmodule module, const char *name) {
  LOCKED;
  if (CUresult r = enterInContext("cuModuleGetGlobal_v2"))
    return r;
  if (!modules.count(module) || !name)
    return CUDA_ERROR_INVALID_HANDLE;
  if (!*name || module->image.find(name) == std::string::npos)
    return CUDA_ERROR_NOT_FOUND;
  if (address)
    *address = CUdeviceptr(reinterpret_cast<uintptr_t>(module));
  if (bytes)
    *bytes = 4;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuFuncSetAttribute(CUfunction function,
                                        CUfunction_attribute attribute, int value) {
  LOCKED;
  if (CUresult r = enterInContext("cuFuncSetAttribute"))
    return r;
  if (function &&
      attribute == CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED) {
    function->nonPortableClusters = value != 0;
    return CUDA_SUCCESS;
  }
  if (!function || attribute != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
    return CUDA_ERROR_INVALID_VALUE;
  if (value > 232448)
    return CUDA_ERROR_INVALID_VALUE;
  function->maxDynamicSharedBytes = value;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy,
                                    unsigned gz, unsigned bx, unsigned by,
                                    unsigned bz, unsigned smem, CUstream stream,
                                    void **params, void ** /*extra*/) {
  LOCKED;
  if (CUresult r = enterInContext("cuLaunchKernel"))
    return r;
  unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  return recordLaunch(f, grid, block, nullptr, smem, stream, params);
}

FAKE_EXPORT CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f,
                                      void **params, void ** /*extra*/) {
  LOCKED;
  if (CUresult r = enterInContext("cuLaunchKernelEx"))
    return r;
  unsigned grid[3] = {config->gridDimX, config->gridDimY, config->gridDimZ};
  unsigned block[3] = {config->blockDimX, config->blockDimY, config->blockDimZ};
  unsigned cluster[3] = {0, 0, 0};
  bool clustered = false, cooperative = false, programmatic = false;
  for (unsigned i = 0; i < config->numAttrs; ++i) {
    const CUlaunchAttribute &attribute = config->attrs[i];
    if (attribute.id == CU_LAUNCH_ATTRIBUTE_COOPERATIVE) {
      cooperative = attribute.value.cooperative != 0;
      continue;
    }
    if (attribute.id == CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION) {
      programmatic = attribute.value.programmaticStreamSerializationAllowed != 0;
      continue;
    }
    if (attribute.id != CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION)
      return CUDA_ERROR_INVALID_VALUE;
    clustered = true;
    cluster[0] = attribute.value.clusterDim.x;
    cluster[1] = attribute.value.clusterDim.y;
    cluster[2] = attribute.value.clusterDim.z;
  }
  for (int i = 0; clustered && i < 3; ++i)
    if (cluster[i] == 0 || grid[i] % cluster[i] != 0)
      return CUDA_ERROR_INVALID_VALUE;
  // An H100/H200: 8 CTAs per cluster, 16 with the kernel's opt-in.
  if (clustered && f) {
    uint64_t size = uint64_t(cluster[0]) * cluster[1] * cluster[2];
    if (size > (f->nonPortableClusters ? 16u : 8u))
      return CUDA_ERROR_INVALID_CLUSTER_SIZE;
  }
  if (cooperative) {
    // Co-residency on 132 SMs (an H100 or H200) of 2048 threads, 32 blocks
    // and 227 KiB of shared memory each.
    uint64_t threads = uint64_t(block[0]) * block[1] * block[2];
    uint64_t perSM = threads ? 2048 / threads : 0;
    if (perSM > 32)
      perSM = 32;
    if (config->sharedMemBytes && 232448 / config->sharedMemBytes < perSM)
      perSM = 232448 / config->sharedMemBytes;
    if (uint64_t(grid[0]) * grid[1] * grid[2] > 132 * perSM)
      return CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE;
  }
  return recordLaunch(f, grid, block, clustered ? cluster : nullptr,
                      config->sharedMemBytes, config->hStream, params,
                      cooperative, programmatic);
}

FAKE_EXPORT CUresult cuStreamCreate(CUstream *stream, unsigned flags) {
  LOCKED;
  if (CUresult r = enterInContext("cuStreamCreate"))
    return r;
  *stream = new CUstream_st{flags};
  streams.insert(*stream);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuStreamDestroy_v2(CUstream stream) {
  LOCKED;
  if (CUresult r = enterInContext("cuStreamDestroy_v2"))
    return r;
  if (!streams.erase(stream))
    return CUDA_ERROR_INVALID_HANDLE;
  delete stream;
  return CUDA_SUCCESS;
}

/// What the driver does at a synchronization: pools holding more than their
/// release threshold return unused blocks to the OS.
static void releasePoolMemory() {
  for (auto &entry : defaultPools) {
    CUmemPoolHandle_st *pool = entry.second;
    while (pool->reservedBytes > pool->releaseThreshold &&
           !pool->freeBlocks.empty()) {
      auto block = pool->freeBlocks.begin();
      pool->reservedBytes -= block->first;
      poolBlockSizes.erase(block->second);
      std::free(reinterpret_cast<void *>(uintptr_t(block->second)));
      pool->freeBlocks.erase(block);
      ++poolReleases;
    }
  }
}

FAKE_EXPORT CUresult cuStreamSynchronize(CUstream stream) {
  LOCKED;
  if (CUresult r = enterInContext("cuStreamSynchronize"))
    return r;
  if (!validStream(stream))
    return CUDA_ERROR_INVALID_HANDLE;
  releasePoolMemory();
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuStreamWaitEvent(CUstream stream, CUevent event,
                                       unsigned flags) {
  LOCKED;
  if (CUresult r = enterInContext("cuStreamWaitEvent"))
    return r;
  if (!validStream(stream) || !events.count(event) || flags)
    return CUDA_ERROR_INVALID_HANDLE;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuEventCreate(CUevent *event, unsigned flags) {
  LOCKED;
  if (CUresult r = enterInContext("cuEventCreate"))
    return r;
  *event = new CUevent_st{flags};
  events.insert(*event);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuEventDestroy_v2(CUevent event) {
  LOCKED;
  if (CUresult r = enterInContext("cuEventDestroy_v2"))
    return r;
  if (!events.erase(event))
    return CUDA_ERROR_INVALID_HANDLE;
  delete event;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuEventRecord(CUevent event, CUstream stream) {
  LOCKED;
  if (CUresult r = enterInContext("cuEventRecord"))
    return r;
  if (!events.count(event) || !validStream(stream))
    return CUDA_ERROR_INVALID_HANDLE;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuEventSynchronize(CUevent event) {
  LOCKED;
  if (CUresult r = enterInContext("cuEventSynchronize"))
    return r;
  if (!events.count(event))
    return CUDA_ERROR_INVALID_HANDLE;
  releasePoolMemory();
  return CUDA_SUCCESS;
}

static CUresult allocate(CUdeviceptr *pointer, size_t bytes) {
  if (!pointer || bytes == 0)
    return CUDA_ERROR_INVALID_VALUE;
  void *memory = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!memory)
    return CUDA_ERROR_OUT_OF_MEMORY;
  *pointer = CUdeviceptr(reinterpret_cast<uintptr_t>(memory));
  allocations.insert(*pointer);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemAlloc_v2"))
    return r;
  return allocate(pointer, bytes);
}

FAKE_EXPORT CUresult cuMemAllocManaged(CUdeviceptr *pointer, size_t bytes,
                                       unsigned flags) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemAllocManaged"))
    return r;
  if (flags != CU_MEM_ATTACH_GLOBAL)
    return CUDA_ERROR_INVALID_VALUE;
  return allocate(pointer, bytes);
}

FAKE_EXPORT CUresult cuMemFree_v2(CUdeviceptr pointer) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemFree_v2"))
    return r;
  // Stricter than the driver (which would synchronize and free): the
  // runtime must free pool memory with cuMemFreeAsync.
  if (poolAllocations.count(pointer) || !allocations.erase(pointer))
    return CUDA_ERROR_INVALID_VALUE;
  std::free(reinterpret_cast<void *>(uintptr_t(pointer)));
  return CUDA_SUCCESS;
}

static CUmemPoolHandle_st *defaultPool(int device) {
  CUmemPoolHandle_st *&pool = defaultPools[device];
  if (!pool)
    pool = new CUmemPoolHandle_st{device};
  return pool;
}

// A build of the fake without the stream-ordered allocator stands in for a
// driver that lacks it (libadamas_fake_cuda_no_mempool.so).
#ifndef FAKECUDA_WITHOUT_STREAM_ORDERED_ALLOCATOR
FAKE_EXPORT CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool,
                                               CUdevice device) {
  LOCKED;
  if (CUresult r = enter("cuDeviceGetDefaultMemPool"))
    return r;
  if (!pool)
    return CUDA_ERROR_INVALID_VALUE;
  if (device < 0 || device >= envInt("FAKECUDA_DEVICE_COUNT", 1))
    return CUDA_ERROR_INVALID_DEVICE;
  if (envInt("FAKECUDA_NO_MEMORY_POOLS", 0))
    return CUDA_ERROR_NOT_SUPPORTED;
  *pool = defaultPool(device);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemPoolSetAttribute(CUmemoryPool pool,
                                           CUmemPool_attribute attribute,
                                           void *value) {
  LOCKED;
  if (CUresult r = enter("cuMemPoolSetAttribute"))
    return r;
  bool known = false;
  for (auto &entry : defaultPools)
    known = known || entry.second == pool;
  if (!known || !value)
    return CUDA_ERROR_INVALID_VALUE;
  if (attribute != CU_MEMPOOL_ATTR_RELEASE_THRESHOLD)
    return CUDA_ERROR_INVALID_VALUE; // Not modelled.
  pool->releaseThreshold = *static_cast<uint64_t *>(value);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes,
                                     CUstream stream) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemAllocAsync"))
    return r;
  if (!pointer || bytes == 0 || !validStream(stream))
    return CUDA_ERROR_INVALID_VALUE;
  if (envInt("FAKECUDA_NO_MEMORY_POOLS", 0))
    return CUDA_ERROR_NOT_SUPPORTED;
  CUmemPoolHandle_st *pool = defaultPool(contextStack.back()->device);
  size_t size = (bytes + 255) / 256 * 256;
  // Reuse the smallest free block that fits, else reserve a new one.
  auto fit = pool->freeBlocks.lower_bound(size);
  if (fit != pool->freeBlocks.end()) {
    *pointer = fit->second;
    pool->freeBlocks.erase(fit);
  } else {
    void *memory = std::aligned_alloc(256, size);
    if (!memory)
      return CUDA_ERROR_OUT_OF_MEMORY;
    *pointer = CUdeviceptr(reinterpret_cast<uintptr_t>(memory));
    poolBlockSizes[*pointer] = size;
    pool->reservedBytes += size;
    ++poolGrowths;
  }
  poolAllocations[*pointer] = pool;
  allocations.insert(*pointer);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemFreeAsync(CUdeviceptr pointer, CUstream stream) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemFreeAsync"))
    return r;
  if (!validStream(stream))
    return CUDA_ERROR_INVALID_HANDLE;
  auto found = poolAllocations.find(pointer);
  if (found == poolAllocations.end())
    return CUDA_ERROR_INVALID_VALUE; // Not pool memory, or freed already.
  CUmemPoolHandle_st *pool = found->second;
  poolAllocations.erase(found);
  allocations.erase(pointer);
  pool->freeBlocks.emplace(poolBlockSizes[pointer], pointer);
  return CUDA_SUCCESS;
}
#endif

FAKE_EXPORT CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                                   CUstream stream) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemcpyAsync"))
    return r;
  if (!validStream(stream))
    return CUDA_ERROR_INVALID_HANDLE;
  if (!dst || !src)
    return CUDA_ERROR_INVALID_VALUE;
  std::memmove(reinterpret_cast<void *>(uintptr_t(dst)),
               reinterpret_cast<void *>(uintptr_t(src)), bytes);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src,
                                     size_t bytes) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemcpyHtoD_v2"))
    return r;
  if (!allocations.count(dst) || !src)
    return CUDA_ERROR_INVALID_VALUE;
  std::memcpy(reinterpret_cast<void *>(uintptr_t(dst)), src, bytes);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value,
                                      size_t count, CUstream stream) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemsetD32Async"))
    return r;
  if (!validStream(stream))
    return CUDA_ERROR_INVALID_HANDLE;
  auto *words = reinterpret_cast<uint32_t *>(uintptr_t(dst));
  for (size_t i = 0; i < count; ++i)
    words[i] = value;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value,
                                      size_t count, CUstream stream) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemsetD16Async"))
    return r;
  if (!validStream(stream))
    return CUDA_ERROR_INVALID_HANDLE;
  auto *halves = reinterpret_cast<uint16_t *>(uintptr_t(dst));
  for (size_t i = 0; i < count; ++i)
    halves[i] = value;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemHostRegister_v2(void *pointer, size_t bytes,
                                          unsigned flags) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemHostRegister_v2"))
    return r;
  if (!pointer || bytes == 0 || flags != 0 || !registeredHost.insert(pointer).second)
    return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuMemHostUnregister(void *pointer) {
  LOCKED;
  if (CUresult r = enterInContext("cuMemHostUnregister"))
    return r;
  return registeredHost.erase(pointer) ? CUDA_SUCCESS
                                       : CUDA_ERROR_INVALID_VALUE;
}

FAKE_EXPORT CUresult cuTensorMapEncodeTiled(
    CUtensorMap *map, CUtensorMapDataType dataType, uint32_t rank,
    void *globalAddress, const uint64_t *globalDim, const uint64_t *globalStrides,
    const uint32_t *boxDim, const uint32_t *elementStrides,
    CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
    CUtensorMapL2promotion l2Promotion, CUtensorMapFloatOOBfill oobFill) {
  LOCKED;
  if (CUresult r = enterInContext("cuTensorMapEncodeTiled"))
    return r;
  if (!map || rank < 1 || rank > 5 || !globalAddress)
    return CUDA_ERROR_INVALID_VALUE;
  for (uint32_t i = 0; i < rank; ++i)
    if (elementStrides[i] != 1)
      return CUDA_ERROR_INVALID_VALUE;
  haveTensorMap = true;
  std::memset(&lastTensorMap, 0, sizeof(lastTensorMap));
  lastTensorMap.dataType = dataType;
  lastTensorMap.rank = rank;
  lastTensorMap.globalAddress = globalAddress;
  for (uint32_t i = 0; i < rank; ++i) {
    lastTensorMap.globalDim[i] = globalDim[i];
    lastTensorMap.boxDim[i] = boxDim[i];
    if (i + 1 < rank)
      lastTensorMap.globalStrides[i] = globalStrides[i];
  }
  lastTensorMap.interleave = interleave;
  lastTensorMap.swizzle = swizzle;
  lastTensorMap.l2Promotion = l2Promotion;
  lastTensorMap.oobFill = oobFill;
  std::memset(map, 0xA5, sizeof(*map));
  return CUDA_SUCCESS;
}

//===----------------------------------------------------------------------===//
// Control interface
//===----------------------------------------------------------------------===//

FAKE_EXPORT void fakecuda_reset(void) {
  LOCKED;
  callCounts.clear();
  injectedFailures.clear();
  haveLaunch = false;
  haveTensorMap = false;
  poolGrowths = poolReleases = 0;
}

FAKE_EXPORT uint64_t fakecuda_call_count(const char *name) {
  LOCKED;
  auto found = callCounts.find(name);
  return found == callCounts.end() ? 0 : found->second;
}

FAKE_EXPORT void fakecuda_fail_next(const char *name, int error) {
  LOCKED;
  injectedFailures[name] = error;
}

FAKE_EXPORT bool fakecuda_last_launch(FakeLaunchRecord *out) {
  LOCKED;
  if (haveLaunch)
    *out = lastLaunch;
  return haveLaunch;
}

FAKE_EXPORT size_t fakecuda_launch_record_size(void) {
  return sizeof(FakeLaunchRecord);
}

FAKE_EXPORT bool fakecuda_last_tensor_map(FakeTensorMapRecord *out) {
  LOCKED;
  if (haveTensorMap)
    *out = lastTensorMap;
  return haveTensorMap;
}

FAKE_EXPORT size_t fakecuda_loaded_modules(void) {
  LOCKED;
  return modules.size();
}

FAKE_EXPORT size_t fakecuda_live_allocations(void) {
  LOCKED;
  return allocations.size();
}

FAKE_EXPORT size_t fakecuda_live_streams(void) {
  LOCKED;
  return streams.size();
}

FAKE_EXPORT size_t fakecuda_live_events(void) {
  LOCKED;
  return events.size();
}

FAKE_EXPORT size_t fakecuda_registered_host_ranges(void) {
  LOCKED;
  return registeredHost.size();
}

FAKE_EXPORT size_t fakecuda_context_depth(void) { return contextStack.size(); }

FAKE_EXPORT uint64_t fakecuda_pool_growths(void) {
  LOCKED;
  return poolGrowths;
}

FAKE_EXPORT uint64_t fakecuda_pool_releases(void) {
  LOCKED;
  return poolReleases;
}

FAKE_EXPORT uint64_t fakecuda_pool_reserved_bytes(int device) {
  LOCKED;
  auto found = defaultPools.find(device);
  return found == defaultPools.end() ? 0 : found->second->reservedBytes;
}

FAKE_EXPORT uint64_t fakecuda_pool_release_threshold(int device) {
  LOCKED;
  auto found = defaultPools.find(device);
  return found == defaultPools.end() ? 0 : found->second->releaseThreshold;
}
