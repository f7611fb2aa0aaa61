// Neural-network functional ops: softmax family, losses, norms, conv, pooling, attention.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// (the nn family declares its op functions here)

}  // namespace vt
