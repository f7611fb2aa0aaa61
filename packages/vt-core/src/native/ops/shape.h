// Shape ops that copy: cat, stack, split, flip, roll, repeat, pad and friends.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// (the shape family declares its op functions here)

}  // namespace vt
