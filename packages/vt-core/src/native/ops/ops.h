// The C++ op functions of vt-core. Each goes through the dispatcher (a cached typed handle), so
// layers such as autograd see every call.
#pragma once

#include <optional>
#include <vector>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"
#include "ops/copy.h"

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

// Views: share storage, never copy.
Tensor as_strided(const Tensor& self, IntArrayRef size, IntArrayRef stride,
                  std::optional<int64_t> storage_offset = std::nullopt);
Tensor view(const Tensor& self, IntArrayRef size);
Tensor reshape(const Tensor& self, IntArrayRef size);  // a view when possible, else a copy
Tensor permute(const Tensor& self, IntArrayRef dims);
Tensor transpose(const Tensor& self, int64_t dim0, int64_t dim1);
Tensor expand(const Tensor& self, IntArrayRef size);
Tensor squeeze(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt);
Tensor unsqueeze(const Tensor& self, int64_t dim);
Tensor slice(const Tensor& self, int64_t dim, std::optional<int64_t> start,
             std::optional<int64_t> end, int64_t step = 1);
Tensor select(const Tensor& self, int64_t dim, int64_t index);
Tensor contiguous(const Tensor& self);
Tensor clone(const Tensor& self);

// In place.
const Tensor& fill_(const Tensor& self, const Scalar& value);

// Elementwise.
Tensor add(const Tensor& self, const Tensor& other, const Scalar& alpha = Scalar(int64_t(1)));
Tensor add(const Tensor& self, const Scalar& other, const Scalar& alpha = Scalar(int64_t(1)));
Tensor sub(const Tensor& self, const Tensor& other, const Scalar& alpha = Scalar(int64_t(1)));
Tensor sub(const Tensor& self, const Scalar& other, const Scalar& alpha = Scalar(int64_t(1)));
Tensor rsub(const Tensor& self, const Scalar& other, const Scalar& alpha = Scalar(int64_t(1)));
Tensor mul(const Tensor& self, const Tensor& other);
Tensor mul(const Tensor& self, const Scalar& other);
Tensor div(const Tensor& self, const Tensor& other);
Tensor div(const Tensor& self, const Scalar& other);
Tensor rdiv(const Tensor& self, const Scalar& other);  // other / self
const Tensor& add_(const Tensor& self, const Tensor& other, const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& add_(const Tensor& self, const Scalar& other, const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& sub_(const Tensor& self, const Tensor& other, const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& sub_(const Tensor& self, const Scalar& other, const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& mul_(const Tensor& self, const Tensor& other);
const Tensor& mul_(const Tensor& self, const Scalar& other);
const Tensor& div_(const Tensor& self, const Tensor& other);
const Tensor& div_(const Tensor& self, const Scalar& other);
Tensor neg(const Tensor& self);
Tensor exp(const Tensor& self);

// Reductions; dims == nullopt or empty reduce everything.
Tensor sum(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
           bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt);
Tensor mean(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
            bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt);

}  // namespace vt
