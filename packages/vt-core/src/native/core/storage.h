// Storage: a refcounted, device-tagged allocation that tensors view.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/device.h"
#include "core/inference_mode.h"
#include "core/intrusive_ptr.h"

namespace vt {

class Storage final : public RefCounted {
 public:
  // Frees data when the storage dies; context is whatever the owner needs (allocator, user).
  using FreeFn = void (*)(void* data, size_t nbytes, Device device, void* context);

  Storage(void* data, size_t nbytes, Device device, FreeFn free_fn, void* free_context)
      : data_(data), nbytes_(nbytes), device_(device), free_fn_(free_fn),
        free_context_(free_context), inference_(inference_mode_enabled()) {}
  ~Storage() { if (free_fn_) free_fn_(data_, nbytes_, device_, free_context_); }

  // nbytes from the device type's registered allocator.
  static intrusive_ptr<Storage> allocate(size_t nbytes, Device device);

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  // Shared by every view of this storage; in-place ops bump it so autograd can detect that a
  // tensor saved for backward was modified.
  uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() {
    if (inference_ && !inference_mode_enabled()) raise_inplace_on_inference_tensor();
    version_.fetch_add(1, std::memory_order_relaxed);
  }
  // Created inside inference mode: its tensors are inference tensors.
  bool is_inference() const { return inference_; }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  FreeFn free_fn_;
  void* free_context_;
  std::atomic<uint32_t> version_{0};
  bool inference_;
};

}  // namespace vt
