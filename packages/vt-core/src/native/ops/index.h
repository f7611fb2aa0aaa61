// Indexing by content: gather/scatter, index_*, masks, advanced indexing, sort, topk.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// (the index family declares its op functions here)

}  // namespace vt
