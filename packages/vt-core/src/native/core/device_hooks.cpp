#include "core/device_hooks.h"

#include <array>
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <mutex>

#include "core/error.h"

namespace vt {
namespace {

struct Registry {
  std::mutex mutex;  // registration only
  std::array<std::atomic<const vt_device_hooks_t*>, VT_DEVICE_TYPE_LIMIT> hooks{};
};

Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

void register_device_hooks(int32_t device_type, const vt_device_hooks_t& hooks) {
  VT_CHECK_VALUE(device_type > VT_DEVICE_CPU && device_type < VT_DEVICE_TYPE_LIMIT,
                 "device hooks: invalid device type ", device_type);
  // Tables from ABI 1.1 end at copy_bytes; the stream functions after it are optional.
  constexpr size_t kMinimum = offsetof(vt_device_hooks_t, copy_bytes) + sizeof(hooks.copy_bytes);
  VT_CHECK_VALUE(hooks.struct_size >= kMinimum && hooks.device_count && hooks.copy_bytes,
                 "device hooks: the table is incomplete or from an older ABI");
  auto* copy = new vt_device_hooks_t{};
  std::memcpy(copy, &hooks, std::min(hooks.struct_size, sizeof(vt_device_hooks_t)));
  copy->struct_size = sizeof(vt_device_hooks_t);
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.hooks[size_t(device_type)].store(copy, std::memory_order_release);
}

const vt_device_hooks_t* device_hooks_for(int32_t device_type) {
  if (device_type <= 0 || device_type >= VT_DEVICE_TYPE_LIMIT) return nullptr;
  return registry().hooks[size_t(device_type)].load(std::memory_order_acquire);
}

}  // namespace vt
