// Copies and dtype conversion: used by the iterator, so kept apart from the other ops.
#pragma once

#include "core/scalar.h"
#include "core/scalar_type.h"
#include "core/tensor.h"

namespace vt {

// dst <- src with broadcasting and dtype conversion; returns dst.
const Tensor& copy_(const Tensor& dst, const Tensor& src);
// Every element of self set to value; returns self.
const Tensor& fill_(const Tensor& self, const Scalar& value);
// A new tensor of another dtype (same layout as torch's _to_copy gives: contiguous).
Tensor to_dtype(const Tensor& self, ScalarType dtype);

}  // namespace vt
