//===- FunctionCache.cpp - Cached kernel lookups --------------------------===//

#include "FunctionCache.h"

#include "DeviceContext.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace adamas::rt {

namespace {
struct Entry {
  std::string name; // The key of the module's map views this string.
  cuda::CUfunction function = nullptr;
  int64_t sharedMemoryOptIn = 0;
  bool nonPortableClusters = false;
  bool programmaticLaunch = false;
  bool cooperativeLaunch = false;
};

/// ADAMAS_PROGRAMMATIC_LAUNCH=0 turns programmatic dependent launch off (to
/// measure what it gains, or to rule it out); read once.
bool programmaticLaunchEnabled() {
  static const bool enabled = [] {
    const char *value = std::getenv("ADAMAS_PROGRAMMATIC_LAUNCH");
    return !value || std::strcmp(value, "0") != 0;
  }();
  return enabled;
}

/// Whether `module` declares kGridDependencyMarker (the caller holds the
/// module's context). A driver without cuModuleGetGlobal says no.
bool declaresGridDependencyWait(const CudaDriver &driver,
                                cuda::CUmodule module) {
  if (!driver.cuModuleGetGlobal || !programmaticLaunchEnabled())
    return false;
  cuda::CUdeviceptr address = 0;
  size_t bytes = 0;
  return driver.cuModuleGetGlobal(&address, &bytes, module,
                                  kGridDependencyMarker) == cuda::CUDA_SUCCESS;
}

/// Whether kernel `name` synchronises its grid (its name ends with
/// kGridSyncSuffix).
bool synchronisesGrid(std::string_view name) {
  std::string_view suffix(kGridSyncSuffix);
  return name.size() >= suffix.size() &&
         name.substr(name.size() - suffix.size()) == suffix;
}

struct Cache {
  std::mutex mutex;
  // Keyed by a view of the entry's own name, so that a lookup builds no
  // std::string (kernel names are longer than the small-string buffer).
  std::unordered_map<cuda::CUmodule, std::unordered_map<std::string_view,
                                                        std::unique_ptr<Entry>>>
      byModule;
  std::unordered_map<cuda::CUfunction, Entry *> byFunction;

  static Cache &get() {
    // Leaked: generated code may launch from global destructors.
    static Cache *cache = new Cache();
    return *cache;
  }
};
} // namespace

Status getFunctionCached(const CudaDriver &driver, int device,
                         cuda::CUmodule module, const char *name,
                         cuda::CUfunction *out) {
  Cache &cache = Cache::get();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto functions = cache.byModule.find(module);
    if (functions != cache.byModule.end()) {
      auto found = functions->second.find(std::string_view(name));
      if (found != functions->second.end()) {
        *out = found->second->function;
        return Status::success();
      }
    }
  }
  cuda::CUfunction function = nullptr;
  bool programmatic = false, cooperative = false;
  {
    ScopedContext context(driver, device);
    if (!context.status().ok())
      return context.status();
    Status status = driver.check(
        driver.cuModuleGetFunction(&function, module, name),
        (std::string("cuModuleGetFunction('") + name + "')").c_str());
    if (!status.ok())
      return status;
    programmatic = declaresGridDependencyWait(driver, module);
    cooperative = synchronisesGrid(name);
  }
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto &functions = cache.byModule[module];
  if (functions.find(std::string_view(name)) == functions.end()) {
    auto entry = std::make_unique<Entry>();
    entry->name = name;
    entry->function = function;
    entry->programmaticLaunch = programmatic;
    entry->cooperativeLaunch = cooperative;
    cache.byFunction[function] = entry.get();
    std::string_view key(entry->name);
    functions.emplace(key, std::move(entry));
  }
  *out = function;
  return Status::success();
}

int64_t sharedMemoryOptIn(cuda::CUfunction function) {
  Cache &cache = Cache::get();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto found = cache.byFunction.find(function);
  return found == cache.byFunction.end() ? 0 : found->second->sharedMemoryOptIn;
}

void noteSharedMemoryOptIn(cuda::CUfunction function, int64_t bytes) {
  Cache &cache = Cache::get();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto found = cache.byFunction.find(function);
  if (found != cache.byFunction.end() &&
      found->second->sharedMemoryOptIn < bytes)
    found->second->sharedMemoryOptIn = bytes;
}

bool nonPortableClusterOptIn(cuda::CUfunction function) {
  Cache &cache = Cache::get();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto found = cache.byFunction.find(function);
  return found != cache.byFunction.end() &&
         found->second->nonPortableClusters;
}

void noteNonPortableClusterOptIn(cuda::CUfunction function) {
  Cache &cache = Cache::get();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto found = cache.byFunction.find(function);
  if (found != cache.byFunction.end())
    found->second->nonPortableClusters = true;
}

bool programmaticLaunchAllowed(cuda::CUfunction function) {
  Cache &cache = Cache::get();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto found = cache.byFunction.find(function);
  return found != cache.byFunction.end() && found->second->programmaticLaunch;
}

bool cooperativeLaunchRequired(cuda::CUfunction function) {
  Cache &cache = Cache::get();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto found = cache.byFunction.find(function);
  return found != cache.byFunction.end() && found->second->cooperativeLaunch;
}

void forgetModuleFunctions(cuda::CUmodule module) {
  Cache &cache = Cache::get();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto functions = cache.byModule.find(module);
  if (functions == cache.byModule.end())
    return;
  for (auto &entry : functions->second)
    cache.byFunction.erase(entry.second->function);
  cache.byModule.erase(functions);
}

} // namespace adamas::rt
