// Elementwise ops: arithmetic, math functions, comparisons, logical and bitwise ops, clamp,
// where, lerp, addcmul/addcdiv. Each op has torch's dtype rules; `name_` writes self in place
// and returns it; `name_out(out, ...)` writes a given tensor of the result's shape (any dtype
// the result can be cast to) and returns it.
#pragma once

#include <optional>
#include <string_view>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// Arithmetic. alpha scales other: self + alpha * other, self - alpha * other.
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
const Tensor& add_out(const Tensor& out, const Tensor& self, const Tensor& other,
                      const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& sub_out(const Tensor& out, const Tensor& self, const Tensor& other,
                      const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& mul_out(const Tensor& out, const Tensor& self, const Tensor& other);
const Tensor& div_out(const Tensor& out, const Tensor& self, const Tensor& other);

// div with rounding_mode "trunc" or "floor" (nullopt: true division); integer division by
// zero raises.
Tensor div(const Tensor& self, const Tensor& other, std::optional<std::string_view> rounding_mode);
Tensor div(const Tensor& self, const Scalar& other, std::optional<std::string_view> rounding_mode);
const Tensor& div_(const Tensor& self, const Tensor& other,
                   std::optional<std::string_view> rounding_mode);
const Tensor& div_(const Tensor& self, const Scalar& other,
                   std::optional<std::string_view> rounding_mode);
const Tensor& div_out(const Tensor& out, const Tensor& self, const Tensor& other,
                      std::optional<std::string_view> rounding_mode);

// name(self), name_(self), name_out(out, self).
#define VT_DECLARE_UNARY(name)                    \
  Tensor name(const Tensor& self);                \
  const Tensor& name##_(const Tensor& self);      \
  const Tensor& name##_out(const Tensor& out, const Tensor& self);
VT_DECLARE_UNARY(abs)
VT_DECLARE_UNARY(sign)
VT_DECLARE_UNARY(relu)
VT_DECLARE_UNARY(floor)
VT_DECLARE_UNARY(ceil)
VT_DECLARE_UNARY(trunc)
VT_DECLARE_UNARY(logical_not)
VT_DECLARE_UNARY(bitwise_not)
VT_DECLARE_UNARY(exp2)
VT_DECLARE_UNARY(expm1)
VT_DECLARE_UNARY(log)
VT_DECLARE_UNARY(log2)
VT_DECLARE_UNARY(log1p)
VT_DECLARE_UNARY(sqrt)
VT_DECLARE_UNARY(rsqrt)
VT_DECLARE_UNARY(reciprocal)
VT_DECLARE_UNARY(sin)
VT_DECLARE_UNARY(cos)
VT_DECLARE_UNARY(tan)
VT_DECLARE_UNARY(tanh)
VT_DECLARE_UNARY(sigmoid)
VT_DECLARE_UNARY(erf)
VT_DECLARE_UNARY(silu)
#undef VT_DECLARE_UNARY
Tensor neg(const Tensor& self);
const Tensor& neg_(const Tensor& self);
const Tensor& neg_out(const Tensor& out, const Tensor& self);
Tensor exp(const Tensor& self);
const Tensor& exp_(const Tensor& self);
const Tensor& exp_out(const Tensor& out, const Tensor& self);

// Half-way cases round to even; decimals != 0 (floating dtypes only) rounds to 10^-decimals.
Tensor round(const Tensor& self, int64_t decimals = 0);
const Tensor& round_(const Tensor& self, int64_t decimals = 0);
const Tensor& round_out(const Tensor& out, const Tensor& self, int64_t decimals = 0);
// approximate: "none" (erf) or "tanh".
Tensor gelu(const Tensor& self, std::string_view approximate = "none");
const Tensor& gelu_(const Tensor& self, std::string_view approximate = "none");
const Tensor& gelu_out(const Tensor& out, const Tensor& self, std::string_view approximate = "none");

// bool results, no in-place forms.
Tensor isnan(const Tensor& self);
Tensor isinf(const Tensor& self);
Tensor isfinite(const Tensor& self);
// Defaults: NaN -> 0, +inf -> the dtype's largest finite value, -inf -> its lowest.
Tensor nan_to_num(const Tensor& self, std::optional<double> nan = std::nullopt,
                  std::optional<double> posinf = std::nullopt,
                  std::optional<double> neginf = std::nullopt);
const Tensor& nan_to_num_(const Tensor& self, std::optional<double> nan = std::nullopt,
                          std::optional<double> posinf = std::nullopt,
                          std::optional<double> neginf = std::nullopt);
const Tensor& nan_to_num_out(const Tensor& out, const Tensor& self,
                             std::optional<double> nan = std::nullopt,
                             std::optional<double> posinf = std::nullopt,
                             std::optional<double> neginf = std::nullopt);

// At least one bound must be given; bounds take part in type promotion.
Tensor clamp(const Tensor& self, const std::optional<Scalar>& min, const std::optional<Scalar>& max);
Tensor clamp(const Tensor& self, const std::optional<Tensor>& min, const std::optional<Tensor>& max);
const Tensor& clamp_(const Tensor& self, const std::optional<Scalar>& min,
                     const std::optional<Scalar>& max);
const Tensor& clamp_(const Tensor& self, const std::optional<Tensor>& min,
                     const std::optional<Tensor>& max);
const Tensor& clamp_out(const Tensor& out, const Tensor& self, const std::optional<Scalar>& min,
                        const std::optional<Scalar>& max);
const Tensor& clamp_out(const Tensor& out, const Tensor& self, const std::optional<Tensor>& min,
                        const std::optional<Tensor>& max);

// Binary ops whose other operand is a tensor: name(self, other), name_(self, other),
// name_out(out, self, other); with a number too: name(self, number), name_(self, number).
#define VT_DECLARE_BINARY(name)                                          \
  Tensor name(const Tensor& self, const Tensor& other);                  \
  const Tensor& name##_(const Tensor& self, const Tensor& other);        \
  const Tensor& name##_out(const Tensor& out, const Tensor& self, const Tensor& other);
#define VT_DECLARE_BINARY_SCALAR(name)                                   \
  VT_DECLARE_BINARY(name)                                                \
  Tensor name(const Tensor& self, const Scalar& other);                  \
  const Tensor& name##_(const Tensor& self, const Scalar& other);
VT_DECLARE_BINARY_SCALAR(clamp_min)
VT_DECLARE_BINARY_SCALAR(clamp_max)
VT_DECLARE_BINARY_SCALAR(floor_divide)
VT_DECLARE_BINARY_SCALAR(remainder)  // the divisor's sign, as Python's %
VT_DECLARE_BINARY_SCALAR(fmod)       // the dividend's sign, as C's fmod
VT_DECLARE_BINARY_SCALAR(pow)
VT_DECLARE_BINARY_SCALAR(eq)
VT_DECLARE_BINARY_SCALAR(ne)
VT_DECLARE_BINARY_SCALAR(lt)
VT_DECLARE_BINARY_SCALAR(le)
VT_DECLARE_BINARY_SCALAR(gt)
VT_DECLARE_BINARY_SCALAR(ge)
VT_DECLARE_BINARY_SCALAR(bitwise_and)
VT_DECLARE_BINARY_SCALAR(bitwise_or)
VT_DECLARE_BINARY_SCALAR(bitwise_xor)
VT_DECLARE_BINARY_SCALAR(bitwise_left_shift)
VT_DECLARE_BINARY_SCALAR(bitwise_right_shift)
Tensor pow(const Scalar& self, const Tensor& exponent);  // a contiguous result, as torch
VT_DECLARE_BINARY(atan2)
VT_DECLARE_BINARY(logical_and)
VT_DECLARE_BINARY(logical_or)
VT_DECLARE_BINARY(logical_xor)
#undef VT_DECLARE_BINARY_SCALAR
#undef VT_DECLARE_BINARY
// NaN-propagating; no in-place forms, as torch.
Tensor maximum(const Tensor& self, const Tensor& other);
Tensor minimum(const Tensor& self, const Tensor& other);
const Tensor& maximum_out(const Tensor& out, const Tensor& self, const Tensor& other);
const Tensor& minimum_out(const Tensor& out, const Tensor& self, const Tensor& other);

// condition ? self : other, with self and other promoted together.
Tensor where(const Tensor& condition, const Tensor& self, const Tensor& other);
Tensor where(const Tensor& condition, const Tensor& self, const Scalar& other);
Tensor where(const Tensor& condition, const Scalar& self, const Tensor& other);
Tensor where(const Tensor& condition, const Scalar& self, const Scalar& other);
const Tensor& where_out(const Tensor& out, const Tensor& condition, const Tensor& self,
                        const Tensor& other);

// self + weight * (end - self); self, end (and a weight with dims) share one floating dtype.
Tensor lerp(const Tensor& self, const Tensor& end, const Scalar& weight);
Tensor lerp(const Tensor& self, const Tensor& end, const Tensor& weight);
const Tensor& lerp_(const Tensor& self, const Tensor& end, const Scalar& weight);
const Tensor& lerp_(const Tensor& self, const Tensor& end, const Tensor& weight);
const Tensor& lerp_out(const Tensor& out, const Tensor& self, const Tensor& end,
                       const Scalar& weight);
const Tensor& lerp_out(const Tensor& out, const Tensor& self, const Tensor& end,
                       const Tensor& weight);

// self + value * tensor1 * tensor2 and self + value * tensor1 / tensor2.
Tensor addcmul(const Tensor& self, const Tensor& tensor1, const Tensor& tensor2,
               const Scalar& value = Scalar(int64_t(1)));
const Tensor& addcmul_(const Tensor& self, const Tensor& tensor1, const Tensor& tensor2,
                       const Scalar& value = Scalar(int64_t(1)));
const Tensor& addcmul_out(const Tensor& out, const Tensor& self, const Tensor& tensor1,
                          const Tensor& tensor2, const Scalar& value = Scalar(int64_t(1)));
Tensor addcdiv(const Tensor& self, const Tensor& tensor1, const Tensor& tensor2,
               const Scalar& value = Scalar(int64_t(1)));
const Tensor& addcdiv_(const Tensor& self, const Tensor& tensor1, const Tensor& tensor2,
                       const Scalar& value = Scalar(int64_t(1)));
const Tensor& addcdiv_out(const Tensor& out, const Tensor& self, const Tensor& tensor1,
                          const Tensor& tensor2, const Scalar& value = Scalar(int64_t(1)));

}  // namespace vt
