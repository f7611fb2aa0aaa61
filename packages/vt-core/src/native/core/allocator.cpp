#include "core/allocator.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/device.h"
#include "core/error.h"
#include "core/host_block_cache.h"
#include "core/storage.h"

namespace vt {
namespace {

constexpr size_t kCpuAlignment = 64;  // a cache line, and enough for AVX-512 loads
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugeThreshold = size_t(4) << 20;

struct CpuStats {
  std::atomic<int64_t> allocated{0}, peak{0}, allocs{0}, frees{0};
};
CpuStats g_cpu_stats;

size_t huge_block_size(size_t nbytes) { return (nbytes + kHugePage - 1) / kHugePage * kHugePage; }

// Large blocks on 2 MiB boundaries, marked for transparent huge pages (a fresh 64 MiB output
// faults in 32 pages instead of 16384), and recycled through the host block cache so that the
// steady state of a loop faults in nothing.
void* allocate_huge(size_t nbytes) {
  const size_t rounded = huge_block_size(nbytes);
  if (void* cached = host_block_cache().take(rounded)) return cached;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (!p && host_block_cache().release_all() > 0) p = std::aligned_alloc(kHugePage, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

vt_status_t cpu_allocate(void*, int32_t, size_t nbytes, vt_stream_t, void** out) {
  if (nbytes == 0) { *out = nullptr; return VT_OK; }
  void* p = nullptr;
  if (nbytes >= kHugeThreshold) {
    p = allocate_huge(nbytes);
  } else {
    size_t rounded = (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    p = std::aligned_alloc(kCpuAlignment, rounded);
  }
  if (!p) {
    vt_set_last_error(VT_ERROR_OUT_OF_MEMORY, "CPU allocator: out of memory");
    return VT_ERROR_OUT_OF_MEMORY;
  }
  int64_t now = g_cpu_stats.allocated.fetch_add(int64_t(nbytes), std::memory_order_relaxed) +
                int64_t(nbytes);
  int64_t peak = g_cpu_stats.peak.load(std::memory_order_relaxed);
  while (now > peak && !g_cpu_stats.peak.compare_exchange_weak(peak, now)) {}
  g_cpu_stats.allocs.fetch_add(1, std::memory_order_relaxed);
  *out = p;
  return VT_OK;
}

void cpu_deallocate(void*, int32_t, void* ptr, size_t nbytes) {
  if (!ptr) return;
  if (nbytes < kHugeThreshold || !host_block_cache().put(ptr, huge_block_size(nbytes))) std::free(ptr);
  g_cpu_stats.allocated.fetch_sub(int64_t(nbytes), std::memory_order_relaxed);
  g_cpu_stats.frees.fetch_add(1, std::memory_order_relaxed);
}

vt_status_t cpu_get_stats(void*, int32_t, vt_allocator_stats_t* out) {
  out->allocated_bytes = g_cpu_stats.allocated.load();
  out->peak_allocated_bytes = g_cpu_stats.peak.load();
  out->reserved_bytes = out->allocated_bytes + int64_t(host_block_cache().cached_bytes());
  out->num_allocs = g_cpu_stats.allocs.load();
  out->num_frees = g_cpu_stats.frees.load();
  return VT_OK;
}

struct Registry {
  std::mutex mutex;  // registration only
  std::array<std::atomic<const vt_allocator_t*>, VT_DEVICE_TYPE_LIMIT> tables{};
  Registry() { tables[VT_DEVICE_CPU].store(&cpu_allocator()); }
};

Registry& registry() {
  static Registry r;
  return r;
}

void free_with_allocator(void* data, size_t nbytes, Device device, void* context) {
  auto* a = static_cast<const vt_allocator_t*>(context);
  a->deallocate(a->context, device.index, data, nbytes);
}

}  // namespace

const vt_allocator_t& cpu_allocator() {
  static const vt_allocator_t table = {sizeof(vt_allocator_t), nullptr, cpu_allocate,
                                       cpu_deallocate, cpu_get_stats, nullptr};
  return table;
}

void register_allocator(int32_t device_type, const vt_allocator_t& allocator) {
  VT_CHECK_VALUE(device_type > 0 && device_type < VT_DEVICE_TYPE_LIMIT,
                 "allocator registration: invalid device type ", device_type);
  VT_CHECK_VALUE(allocator.struct_size >= sizeof(vt_allocator_t) && allocator.allocate &&
                     allocator.deallocate && allocator.get_stats,
                 "allocator registration: the table is incomplete or from an older ABI");
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  // Old tables stay alive: storages allocated from them still point at them.
  r.tables[device_type].store(new vt_allocator_t(allocator), std::memory_order_release);
}

const vt_allocator_t* allocator_for(int32_t device_type) {
  if (device_type <= 0 || device_type >= VT_DEVICE_TYPE_LIMIT) return nullptr;
  return registry().tables[device_type].load(std::memory_order_acquire);
}

vt_allocator_stats_t allocator_stats(int32_t device_type, int32_t device_index) {
  const vt_allocator_t* a = allocator_for(device_type);
  VT_CHECK(a, "no allocator is registered for device type ", device_type);
  vt_allocator_stats_t stats{};
  stats.struct_size = sizeof(stats);
  if (a->get_stats(a->context, device_index, &stats) != VT_OK)
    fail(vt_last_error_status(), vt_last_error_message());
  return stats;
}

intrusive_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  const vt_allocator_t* a = allocator_for(device.type);
  if (!a) [[unlikely]]
    fail(VT_ERROR_INVALID_ARGUMENT, "no allocator is registered for device type ", device.type,
         " (", device.type == VT_DEVICE_CUDA ? "cuda: load vt-cuda first" : "a plugin device",
         ")");
  void* data = nullptr;
  if (a->allocate(a->context, device.index, nbytes, nullptr, &data) != VT_OK) [[unlikely]]
    fail(VT_ERROR_OUT_OF_MEMORY, "allocating ", nbytes, " bytes on ", device_string(device),
         " failed: ", vt_last_error_message());
  return intrusive_ptr<Storage>::make(data, nbytes, device, &free_with_allocator,
                                      const_cast<vt_allocator_t*>(a));
}

}  // namespace vt
