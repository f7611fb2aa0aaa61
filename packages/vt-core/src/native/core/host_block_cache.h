// Freed large host blocks kept for reuse. A fresh block of several MiB costs a page fault and a
// kernel zero-fill per page on first touch, which then dominates ops on tensors of that size;
// glibc's heap only recycles blocks under 32 MiB, and only after its threshold has adapted.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

namespace vt {

class HostBlockCache {
 public:
  // Bytes the cache may hold: VT_HOST_CACHE_MAX_BYTES when set, else min(1 GiB, RAM / 8).
  HostBlockCache();

  void* take(size_t size);           // a cached block of exactly `size` bytes, or nullptr
  bool put(void* block, size_t size);  // false when the block does not fit: the caller frees it
  size_t release_all();              // frees every cached block; returns the bytes freed
  size_t cached_bytes() const;

 private:
  mutable std::mutex mutex_;  // the host allocator's own lock (DESIGN 4.5), never held long
  std::map<size_t, std::vector<void*>> blocks_;
  size_t cached_ = 0;
  size_t limit_ = 0;
};

HostBlockCache& host_block_cache();

}  // namespace vt
