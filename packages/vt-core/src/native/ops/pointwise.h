// Elementwise arithmetic: functional, in-place and scalar forms.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

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

}  // namespace vt
