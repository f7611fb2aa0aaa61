// Linear algebra: matmul and friends on a real BLAS.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// (the linalg family declares its op functions here)

}  // namespace vt
