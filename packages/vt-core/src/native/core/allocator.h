// The per-device-type allocator registry and the CPU allocator.
#pragma once

#include <cstdint>

#include "vt/c/allocator.h"

namespace vt {

// Copies the table; lookups afterwards take no lock.
void register_allocator(int32_t device_type, const vt_allocator_t& allocator);
// nullptr when the device type has none (its plugin is not loaded).
const vt_allocator_t* allocator_for(int32_t device_type);
vt_allocator_stats_t allocator_stats(int32_t device_type, int32_t device_index);

// 64-byte aligned host memory with live/peak statistics kept in atomics.
const vt_allocator_t& cpu_allocator();

}  // namespace vt
