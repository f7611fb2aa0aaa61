// Stream and copy hooks per device type, registered by device plugins.
#pragma once

#include <cstdint>

#include "vt/c/stream.h"

namespace vt {

void register_device_hooks(int32_t device_type, const vt_device_hooks_t& hooks);
const vt_device_hooks_t* device_hooks_for(int32_t device_type);  // nullptr when none

}  // namespace vt
