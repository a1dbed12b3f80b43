//===- ModuleCache.cpp - Process-wide cache of loaded modules -------------===//

#include "ModuleCache.h"

#include <chrono>
#include <vector>

namespace adamas::rt {

uint64_t monotonicNanoseconds() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

size_t ModuleKeyHasher::operator()(const ModuleKey &key) const {
  size_t value = DigestHasher()(key.content);
  value ^= std::hash<const void *>()(key.context) * 0x9e3779b97f4a7c15ull;
  value ^= size_t(key.device) << 17;
  value ^= size_t(key.jitOptLevel + 1) << 41;
  return value;
}

ModuleCache &ModuleCache::global() {
  // Leaked on purpose: generated code releases modules from global
  // destructors, possibly after this library's own would have run.
  static ModuleCache *cache = new ModuleCache();
  return *cache;
}

Status ModuleCache::acquire(const ModuleKey &key, const Loader &load,
                            cuda::CUmodule *out, bool *hit) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto found = byKey_.find(key);
  if (found != byKey_.end()) {
    std::shared_ptr<Entry> entry = found->second;
    loadFinished_.wait(lock,
                       [&] { return entry->state != Entry::State::Loading; });
    if (entry->state == Entry::State::Failed)
      return entry->failure;
    ++entry->references;
    ++stats_.hits;
    *out = entry->module;
    if (hit)
      *hit = true;
    return Status::success();
  }

  auto entry = std::make_shared<Entry>();
  entry->key = key;
  byKey_.emplace(key, entry);
  // Load without the lock: other keys stay available meanwhile, and waiters
  // for this key block on the condition variable, not on the mutex.
  lock.unlock();
  cuda::CUmodule module = nullptr;
  uint64_t start = monotonicNanoseconds();
  Status status = load(&module);
  uint64_t elapsed = monotonicNanoseconds() - start;
  lock.lock();

  if (!status.ok() || !module) {
    if (status.ok())
      status = Status::error(ADAMAS_ERROR_CUDA,
                             "module load returned no module");
    entry->state = Entry::State::Failed;
    entry->failure = status;
    byKey_.erase(key);
    loadFinished_.notify_all();
    return status;
  }
  entry->module = module;
  entry->references = 1;
  entry->state = Entry::State::Ready;
  byModule_[module] = entry;
  ++stats_.driverLoads;
  stats_.loadNsTotal += elapsed;
  stats_.loadNsLast = elapsed;
  loadFinished_.notify_all();
  *out = module;
  if (hit)
    *hit = false;
  return Status::success();
}

bool ModuleCache::release(cuda::CUmodule module) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = byModule_.find(module);
  if (found == byModule_.end() || found->second->references == 0)
    return false;
  --found->second->references;
  return true;
}

size_t ModuleCache::trim(const Unloader &unload) {
  std::vector<std::pair<cuda::CUmodule, int>> unused;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = byModule_.begin(); it != byModule_.end();) {
      if (it->second->references != 0) {
        ++it;
        continue;
      }
      unused.emplace_back(it->first, it->second->key.device);
      byKey_.erase(it->second->key);
      it = byModule_.erase(it);
    }
  }
  for (auto &[module, device] : unused)
    unload(module, device);
  return unused.size();
}

bool ModuleCache::contains(cuda::CUmodule module) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return byModule_.count(module) != 0;
}

bool ModuleCache::deviceOf(cuda::CUmodule module, int *device) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = byModule_.find(module);
  if (found == byModule_.end())
    return false;
  *device = found->second->key.device;
  return true;
}

ModuleCache::Stats ModuleCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats result = stats_;
  result.resident = byModule_.size();
  return result;
}

void ModuleCache::recordHitTime(uint64_t nanoseconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.hitNsLast = nanoseconds;
}

} // namespace adamas::rt
