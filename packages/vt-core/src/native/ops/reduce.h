// Reductions over any set of dims.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// Reductions; dims == nullopt or empty reduce everything.
Tensor sum(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
           bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt);
Tensor mean(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
            bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt);

}  // namespace vt
