//===- RuntimeCAPI.cpp - The C API of adamas/runtime.h --------------------===//
//
// Validates arguments, turns Status into adamas_status_t plus the thread's
// last error, and owns the handles it gives out: artifacts (owned by the
// runtime's ArtifactCache), and module and function records that remember
// their device so a launch runs in the right context. Module records are
// keyed by (content hash, device), so loading an artifact again is a map
// lookup; each record holds one module cache reference until destroy.
//
//===----------------------------------------------------------------------===//

#include "adamas/runtime.h"

#include "ArtifactCache.h"
#include "CudaDriver.h"
#include "CurrentStream.h"
#include "DeviceContext.h"
#include "Diagnostics.h"
#include "FunctionCache.h"
#include "KernelLaunch.h"
#include "ModuleCache.h"
#include "ModuleLoader.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

using namespace adamas::rt;

struct adamas_function {
  adamas::cuda::CUfunction function;
  int device;
};

struct adamas_module {
  adamas::cuda::CUmodule module;
  int device;
  std::mutex mutex;
  std::unordered_map<std::string, std::unique_ptr<adamas_function>> functions;
};

struct adamas_compile_result {
  std::vector<uint8_t> binary;
  std::string error;
};

struct adamas_runtime {
  explicit adamas_runtime(const ArtifactCacheOptions &options)
      : artifacts(options) {}

  ArtifactCache artifacts;

  std::mutex mutex;
  adamas_compile_callback_t compiler = nullptr;
  void *compilerUserData = nullptr;

  struct LoadedKey {
    Digest content;
    int device;
    bool operator==(const LoadedKey &other) const {
      return content == other.content && device == other.device;
    }
  };
  struct LoadedKeyHasher {
    size_t operator()(const LoadedKey &key) const {
      return DigestHasher()(key.content) ^ size_t(key.device);
    }
  };
  std::unordered_map<LoadedKey, std::unique_ptr<adamas_module>, LoadedKeyHasher>
      modules;
};

namespace {
adamas_status_t fail(const Status &status) {
  setLastError(status.message());
  return status.code();
}

adamas_status_t fail(adamas_status_t code, std::string message) {
  setLastError(std::move(message));
  return code;
}

/// The driver, or an ADAMAS_ERROR_DRIVER_UNAVAILABLE status saying why.
const CudaDriver *requireDriver(Status *status) {
  std::string error;
  const CudaDriver *driver = CudaDriver::get(&error);
  if (!driver)
    *status = Status::error(ADAMAS_ERROR_DRIVER_UNAVAILABLE, error);
  return driver;
}

const Artifact *toArtifact(const adamas_artifact_t *artifact) {
  return reinterpret_cast<const Artifact *>(artifact);
}

const char *orEmpty(const char *text) { return text ? text : ""; }

/// Loads through the module cache and records the module in `runtime`.
adamas_status_t loadModule(adamas_runtime_t *runtime, const void *image,
                           size_t size, const Digest &content, int device,
                           adamas_module_t **out) {
  adamas_runtime::LoadedKey key{content, device};
  {
    std::lock_guard<std::mutex> lock(runtime->mutex);
    auto found = runtime->modules.find(key);
    if (found != runtime->modules.end()) {
      *out = found->second.get();
      return ADAMAS_OK;
    }
  }
  Status status = Status::success();
  const CudaDriver *driver = requireDriver(&status);
  if (!driver)
    return fail(status);
  ModuleLoadRequest request;
  request.device = device;
  request.image = image;
  request.size = size;
  request.contentHash = &content;
  adamas::cuda::CUmodule module = nullptr;
  bool hit = false;
  status = loadModuleCached(*driver, request, &module, &hit);
  if (!status.ok())
    return fail(status);

  std::lock_guard<std::mutex> lock(runtime->mutex);
  auto record = std::make_unique<adamas_module>();
  record->module = module;
  record->device = device;
  auto inserted = runtime->modules.emplace(key, std::move(record));
  if (!inserted.second) // Another thread recorded it meanwhile.
    (void)releaseModule(*driver, module, device);
  *out = inserted.first->second.get();
  return ADAMAS_OK;
}
/// The cache key of a C request, after checking it.
Status keyOfRequest(const adamas_compile_request_t *request, Digest *key) {
  if (!request)
    return Status::error(ADAMAS_ERROR_INVALID_ARGUMENT, "null compile request");
  if (request->struct_size < sizeof(adamas_compile_request_t))
    return Status::error(ADAMAS_ERROR_INVALID_ARGUMENT,
                         "compile request struct_size is " +
                             std::to_string(request->struct_size) +
                             ", expected " +
                             std::to_string(sizeof(adamas_compile_request_t)));
  if (!request->ir && request->ir_size)
    return Status::error(ADAMAS_ERROR_INVALID_ARGUMENT,
                         "compile request has a null ir with non-zero ir_size");
  *key = computeArtifactKey(
      std::string_view(request->ir ? request->ir : "", request->ir_size),
      orEmpty(request->pipeline_options), orEmpty(request->chip),
      orEmpty(request->compiler_version));
  return Status::success();
}

/// Runs the cache's get-or-compile and hands out the artifact.
adamas_status_t getArtifact(adamas_runtime_t *runtime, const Digest &key,
                            const ArtifactCache::CompileFunction *compile,
                            const adamas_artifact_t **out,
                            adamas_artifact_source_t *outSource) {
  std::shared_ptr<const Artifact> artifact;
  ArtifactSource source;
  Status status =
      runtime->artifacts.getOrCompile(key, compile, &artifact, &source);
  if (!status.ok())
    return fail(status);
  // The cache keeps every artifact it returns alive as long as itself.
  *out = reinterpret_cast<const adamas_artifact_t *>(artifact.get());
  if (outSource)
    *outSource = source == ArtifactSource::Memory ? ADAMAS_ARTIFACT_FROM_MEMORY
                 : source == ArtifactSource::Disk ? ADAMAS_ARTIFACT_FROM_DISK
                                                  : ADAMAS_ARTIFACT_FROM_COMPILER;
  return ADAMAS_OK;
}
} // namespace

extern "C" {

int adamas_runtime_api_version(void) { return ADAMAS_RUNTIME_API_VERSION; }

const char *adamas_status_name(adamas_status_t status) {
  switch (status) {
  case ADAMAS_OK:
    return "ADAMAS_OK";
  case ADAMAS_ERROR_INVALID_ARGUMENT:
    return "ADAMAS_ERROR_INVALID_ARGUMENT";
  case ADAMAS_ERROR_VERSION_MISMATCH:
    return "ADAMAS_ERROR_VERSION_MISMATCH";
  case ADAMAS_ERROR_DRIVER_UNAVAILABLE:
    return "ADAMAS_ERROR_DRIVER_UNAVAILABLE";
  case ADAMAS_ERROR_CUDA:
    return "ADAMAS_ERROR_CUDA";
  case ADAMAS_ERROR_NOT_FOUND:
    return "ADAMAS_ERROR_NOT_FOUND";
  case ADAMAS_ERROR_COMPILE_FAILED:
    return "ADAMAS_ERROR_COMPILE_FAILED";
  case ADAMAS_ERROR_IO:
    return "ADAMAS_ERROR_IO";
  }
  return "ADAMAS_ERROR_UNKNOWN";
}

const char *adamas_runtime_last_error(void) { return lastError(); }

adamas_status_t adamas_runtime_create(int api_version,
                                      const adamas_runtime_options_t *options,
                                      adamas_runtime_t **out_runtime) {
  if (!out_runtime)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_runtime_create: null out_runtime");
  *out_runtime = nullptr;
  if (api_version != ADAMAS_RUNTIME_API_VERSION)
    return fail(ADAMAS_ERROR_VERSION_MISMATCH,
                "adamas_runtime_create: caller built against API version " +
                    std::to_string(api_version) + ", library implements " +
                    std::to_string(ADAMAS_RUNTIME_API_VERSION));
  ArtifactCacheOptions cacheOptions;
  if (options) {
    if (options->struct_size < sizeof(adamas_runtime_options_t))
      return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                  "adamas_runtime_create: options.struct_size is " +
                      std::to_string(options->struct_size) + ", expected " +
                      std::to_string(sizeof(adamas_runtime_options_t)));
    cacheOptions.root = orEmpty(options->cache_dir);
    cacheOptions.maxBytes = options->cache_max_bytes;
    cacheOptions.disableDisk = options->disable_disk_cache != 0;
  }
  *out_runtime = new adamas_runtime(cacheOptions);
  return ADAMAS_OK;
}

void adamas_runtime_destroy(adamas_runtime_t *runtime) {
  if (!runtime)
    return;
  if (const CudaDriver *driver = CudaDriver::get(nullptr))
    for (auto &entry : runtime->modules)
      (void)releaseModule(*driver, entry.second->module, entry.second->device);
  delete runtime;
}

const char *adamas_runtime_disk_cache_dir(const adamas_runtime_t *runtime) {
  if (!runtime || !runtime->artifacts.disk())
    return nullptr;
  return runtime->artifacts.disk()->directory().c_str();
}

adamas_status_t adamas_runtime_check_driver(void) {
  Status status = Status::success();
  if (!requireDriver(&status))
    return fail(status);
  return ADAMAS_OK;
}

adamas_status_t adamas_artifact_key(const adamas_compile_request_t *request,
                                    char out_key_hex[ADAMAS_KEY_HEX_SIZE]) {
  if (!out_key_hex)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_artifact_key: null out_key_hex");
  Digest key;
  Status status = keyOfRequest(request, &key);
  if (!status.ok())
    return fail(status);
  std::memcpy(out_key_hex, key.hex().c_str(), ADAMAS_KEY_HEX_SIZE);
  return ADAMAS_OK;
}

void adamas_compile_result_set_binary(adamas_compile_result_t *result,
                                      const void *data, size_t size) {
  if (!result)
    return;
  const uint8_t *bytes = static_cast<const uint8_t *>(data);
  if (bytes)
    result->binary.assign(bytes, bytes + size);
  else
    result->binary.clear();
}

void adamas_compile_result_set_error(adamas_compile_result_t *result,
                                     const char *message) {
  if (result)
    result->error = orEmpty(message);
}

adamas_status_t adamas_runtime_set_compiler(adamas_runtime_t *runtime,
                                            adamas_compile_callback_t callback,
                                            void *user_data) {
  if (!runtime)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_runtime_set_compiler: null runtime");
  std::lock_guard<std::mutex> lock(runtime->mutex);
  runtime->compiler = callback;
  runtime->compilerUserData = user_data;
  return ADAMAS_OK;
}

adamas_status_t adamas_runtime_get_or_compile(
    adamas_runtime_t *runtime, const adamas_compile_request_t *request,
    const adamas_artifact_t **out_artifact,
    adamas_artifact_source_t *out_source) {
  if (!runtime || !out_artifact)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_runtime_get_or_compile: null runtime or out_artifact");
  *out_artifact = nullptr;
  Digest key;
  Status keyStatus = keyOfRequest(request, &key);
  if (!keyStatus.ok())
    return fail(keyStatus);
  std::string keyHex = key.hex();

  adamas_compile_callback_t callback;
  void *userData;
  {
    std::lock_guard<std::mutex> lock(runtime->mutex);
    callback = runtime->compiler;
    userData = runtime->compilerUserData;
  }
  ArtifactCache::CompileFunction compile =
      [&](std::vector<uint8_t> *binary) -> Status {
    adamas_compile_result_t result;
    int rc = callback(userData, request, keyHex.c_str(), &result);
    if (rc != 0)
      return Status::error(ADAMAS_ERROR_COMPILE_FAILED,
                           "the compiler callback failed (returned " +
                               std::to_string(rc) + ")" +
                               (result.error.empty() ? "" : ": " + result.error));
    *binary = std::move(result.binary);
    return Status::success();
  };

  return getArtifact(runtime, key, callback ? &compile : nullptr, out_artifact,
                     out_source);
}

adamas_status_t adamas_runtime_lookup(adamas_runtime_t *runtime,
                                      const char *key_hex,
                                      const adamas_artifact_t **out_artifact,
                                      adamas_artifact_source_t *out_source) {
  if (!runtime || !key_hex || !out_artifact)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_runtime_lookup: null runtime, key_hex or out_artifact");
  *out_artifact = nullptr;
  Digest key;
  if (!Digest::fromHex(key_hex, &key))
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                std::string("adamas_runtime_lookup: '") + key_hex +
                    "' is not a key (64 hex digits)");
  return getArtifact(runtime, key, nullptr, out_artifact, out_source);
}

const void *adamas_artifact_data(const adamas_artifact_t *artifact) {
  return artifact ? toArtifact(artifact)->bytes.data() : nullptr;
}

size_t adamas_artifact_size(const adamas_artifact_t *artifact) {
  return artifact ? toArtifact(artifact)->bytes.size() : 0;
}

const char *adamas_artifact_key_hex(const adamas_artifact_t *artifact) {
  return artifact ? toArtifact(artifact)->keyHex.c_str() : "";
}

adamas_status_t adamas_runtime_load_module(adamas_runtime_t *runtime,
                                           const void *image, size_t size,
                                           int device,
                                           adamas_module_t **out_module) {
  if (!runtime || !out_module || !image || size == 0 || device < 0)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_runtime_load_module: null runtime, out_module or "
                "image, empty image, or negative device");
  *out_module = nullptr;
  return loadModule(runtime, image, size, Sha256::hash(image, size), device,
                    out_module);
}

adamas_status_t adamas_runtime_load_artifact(adamas_runtime_t *runtime,
                                             const adamas_artifact_t *artifact,
                                             int device,
                                             adamas_module_t **out_module) {
  if (!runtime || !artifact || !out_module || device < 0)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_runtime_load_artifact: null runtime, artifact or "
                "out_module, or negative device");
  *out_module = nullptr;
  const Artifact *bytes = toArtifact(artifact);
  return loadModule(runtime, bytes->bytes.data(), bytes->bytes.size(),
                    bytes->contentHash, device, out_module);
}

void *adamas_module_cu_handle(const adamas_module_t *module) {
  return module ? module->module : nullptr;
}

adamas_status_t adamas_module_get_function(adamas_module_t *module,
                                           const char *name,
                                           adamas_function_t **out_function) {
  if (!module || !name || !*name || !out_function)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_module_get_function: null module, out_function or "
                "empty name");
  *out_function = nullptr;
  std::lock_guard<std::mutex> lock(module->mutex);
  auto found = module->functions.find(name);
  if (found != module->functions.end()) {
    *out_function = found->second.get();
    return ADAMAS_OK;
  }
  Status status = Status::success();
  const CudaDriver *driver = requireDriver(&status);
  if (!driver)
    return fail(status);
  adamas::cuda::CUfunction function = nullptr;
  status = getFunctionCached(*driver, module->device, module->module, name,
                             &function);
  if (!status.ok())
    return fail(status);
  auto record = std::make_unique<adamas_function>();
  record->function = function;
  record->device = module->device;
  *out_function = record.get();
  module->functions.emplace(name, std::move(record));
  return ADAMAS_OK;
}

void *adamas_function_cu_handle(const adamas_function_t *function) {
  return function ? function->function : nullptr;
}

adamas_status_t adamas_launch(const adamas_function_t *function,
                              const uint32_t grid[3], const uint32_t block[3],
                              uint32_t shared_mem_bytes, void *stream,
                              void **kernel_params) {
  if (!function || !grid || !block)
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_launch: null function, grid or block");
  Status status = Status::success();
  const CudaDriver *driver = requireDriver(&status);
  if (!driver)
    return fail(status);
  KernelLaunch launch;
  launch.function = function->function;
  launch.device = function->device;
  for (int i = 0; i < 3; ++i) {
    launch.grid[i] = grid[i];
    launch.block[i] = block[i];
  }
  launch.sharedMemBytes = shared_mem_bytes;
  launch.stream = static_cast<adamas::cuda::CUstream>(stream);
  launch.params = kernel_params;
  status = launchKernel(*driver, launch);
  if (!status.ok())
    return fail(Status::error(status.code(),
                              "adamas_launch: " + status.message()));
  return ADAMAS_OK;
}

adamas_status_t adamas_runtime_get_stats(const adamas_runtime_t *runtime,
                                         adamas_runtime_stats_t *out) {
  if (!out || out->struct_size < sizeof(uint32_t))
    return fail(ADAMAS_ERROR_INVALID_ARGUMENT,
                "adamas_runtime_get_stats: null out or struct_size not set");
  adamas_runtime_stats_t stats;
  std::memset(&stats, 0, sizeof(stats));
  ModuleCache::Stats modules = ModuleCache::global().stats();
  stats.module_driver_loads = modules.driverLoads;
  stats.module_cache_hits = modules.hits;
  stats.module_resident = modules.resident;
  stats.module_load_ns_total = modules.loadNsTotal;
  stats.module_load_ns_last = modules.loadNsLast;
  stats.module_hit_ns_last = modules.hitNsLast;
  stats.kernel_launches = kernelLaunchCount();
  stats.cuda_errors = CudaDriver::cudaErrorCount();
  if (runtime) {
    ArtifactCache::Stats artifacts = runtime->artifacts.stats();
    stats.artifact_memory_hits = artifacts.memoryHits;
    stats.artifact_disk_hits = artifacts.diskHits;
    stats.artifact_disk_misses = artifacts.diskMisses;
    stats.artifact_compiles = artifacts.compiles;
    stats.artifact_corrupt_entries = artifacts.corruptEntries;
    stats.artifact_disk_writes = artifacts.diskWrites;
    stats.artifact_evictions = artifacts.evictions;
  }
  // Copy only what the caller's (possibly older, smaller) struct has room
  // for, and keep its struct_size.
  uint32_t callerSize = out->struct_size;
  size_t bytes = callerSize < sizeof(stats) ? callerSize : sizeof(stats);
  stats.struct_size = callerSize;
  std::memcpy(out, &stats, bytes);
  return ADAMAS_OK;
}

void adamas_runtime_set_current_stream(void *cu_stream) {
  setCurrentStream(static_cast<adamas::cuda::CUstream>(cu_stream));
}

void *adamas_runtime_current_stream(void) { return currentStream(); }

size_t adamas_module_cache_trim(void) {
  const CudaDriver *driver = CudaDriver::get(nullptr);
  return driver ? trimModuleCache(*driver) : 0;
}

} // extern "C"
