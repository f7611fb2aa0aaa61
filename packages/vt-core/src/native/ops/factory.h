// Factories: new tensors from sizes and values.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// Factories.
Tensor empty(IntArrayRef size, std::optional<ScalarType> dtype = std::nullopt,
             std::optional<Device> device = std::nullopt);
Tensor full(IntArrayRef size, const Scalar& value, std::optional<ScalarType> dtype = std::nullopt,
            std::optional<Device> device = std::nullopt);
Tensor zeros(IntArrayRef size, std::optional<ScalarType> dtype = std::nullopt,
             std::optional<Device> device = std::nullopt);
Tensor ones(IntArrayRef size, std::optional<ScalarType> dtype = std::nullopt,
            std::optional<Device> device = std::nullopt);
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step,
              std::optional<ScalarType> dtype = std::nullopt,
              std::optional<Device> device = std::nullopt);

}  // namespace vt
