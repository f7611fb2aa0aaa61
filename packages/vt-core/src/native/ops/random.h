// Random sampling with seeded generators.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// (the random family declares its op functions here)

}  // namespace vt
