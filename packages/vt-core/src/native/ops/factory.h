// Factories: new tensors from sizes and values.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// Factories. dtype defaults to the default float dtype (full: bool, int64 or the default float
// dtype by the fill value's kind; arange: int64 unless an argument is a float).
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
// steps values from start to end inclusive, evenly spaced (computed as torch does per dtype).
Tensor linspace(const Scalar& start, const Scalar& end, int64_t steps,
                std::optional<ScalarType> dtype = std::nullopt,
                std::optional<Device> device = std::nullopt);
// An n x m (m defaults to n) matrix with ones on the diagonal.
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt,
           std::optional<ScalarType> dtype = std::nullopt, std::optional<Device> device = std::nullopt);

// Like-tensors: self's shape, its dtype and device unless given, and torch's preserve_format
// layout (a dense self's exact strides, else dense strides in the order of self's strides).
Tensor empty_like(const Tensor& self, std::optional<ScalarType> dtype = std::nullopt,
                  std::optional<Device> device = std::nullopt);
Tensor zeros_like(const Tensor& self, std::optional<ScalarType> dtype = std::nullopt,
                  std::optional<Device> device = std::nullopt);
Tensor ones_like(const Tensor& self, std::optional<ScalarType> dtype = std::nullopt,
                 std::optional<Device> device = std::nullopt);
Tensor full_like(const Tensor& self, const Scalar& value, std::optional<ScalarType> dtype = std::nullopt,
                 std::optional<Device> device = std::nullopt);

// Whether value cannot be stored in dtype by torch's rules for fill values: integers must fit
// (uint8 also takes -255..-1, wrapping), floats converted to integers must lie in range, and
// finite values must not exceed a floating dtype's largest (float64 and bool take anything).
bool scalar_overflows(const Scalar& value, ScalarType dtype);

}  // namespace vt
