#include "core/host_block_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace vt {
namespace {

size_t default_limit() {
  if (const char* env = std::getenv("VT_HOST_CACHE_MAX_BYTES")) {
    try {
      return size_t(std::stoull(env));
    } catch (...) {
      // An unreadable setting falls back to the default rather than failing every allocation.
    }
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const size_t ram = pages > 0 && page > 0 ? size_t(pages) * size_t(page) : 0;
  return std::min(size_t(1) << 30, ram / 8);
}

}  // namespace

HostBlockCache::HostBlockCache() : limit_(default_limit()) {}

void* HostBlockCache::take(size_t size) {
  std::lock_guard lock(mutex_);
  auto it = blocks_.find(size);
  if (it == blocks_.end() || it->second.empty()) return nullptr;
  void* block = it->second.back();
  it->second.pop_back();
  cached_ -= size;
  return block;
}

bool HostBlockCache::put(void* block, size_t size) {
  std::lock_guard lock(mutex_);
  if (cached_ + size > limit_) return false;
  blocks_[size].push_back(block);
  cached_ += size;
  return true;
}

size_t HostBlockCache::release_all() {
  std::map<size_t, std::vector<void*>> blocks;
  size_t freed = 0;
  {
    std::lock_guard lock(mutex_);
    blocks.swap(blocks_);
    freed = cached_;
    cached_ = 0;
  }
  for (auto& [size, list] : blocks)
    for (void* block : list) std::free(block);
  return freed;
}

size_t HostBlockCache::cached_bytes() const {
  std::lock_guard lock(mutex_);
  return cached_;
}

HostBlockCache& host_block_cache() {
  // Never destroyed: storages freed during interpreter shutdown may still return blocks.
  static HostBlockCache* cache = new HostBlockCache();
  return *cache;
}

}  // namespace vt
