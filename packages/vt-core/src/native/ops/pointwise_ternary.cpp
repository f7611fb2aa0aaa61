// Three-input elementwise ops: where(condition, self, other), lerp(self, end, weight),
// addcmul and addcdiv (self + value * tensor1 (* or /) tensor2).
#include <cmath>

#include "core/error.h"
#include "ops/factory.h"
#include "ops/ops.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;

// self and other promote together; the condition stays bool (uint8 is read as nonzero).
Tensor where_impl(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  VT_CHECK(cond.dtype() == ScalarType::Bool || cond.dtype() == ScalarType::UInt8,
           "where expected condition to be a boolean tensor, but got a tensor with dtype ",
           dtype_name(cond.dtype()));
  const ScalarType rt = result_type({a, b}, {});
  IterConfig c = pointwise::config("where", out, {cond, a, b}, {}, {});
  c.inputs[0] = cond.dtype() == ScalarType::Bool ? cond : vt::to_dtype(cond, ScalarType::Bool);
  for (size_t i = 1; i < 3; ++i)
    if (c.inputs[i].dtype() != rt) c.inputs[i] = vt::to_dtype(c.inputs[i], rt);
  c.promote_inputs = false;
  c.compute_dtype = rt;
  TensorIterator it(std::move(c));
  pointwise::visit<Dtypes::All>(rt, "where", [&](auto tag) {
    using T = decltype(tag);
    map_loop<T, bool, T, T>(it, [](bool k, opmath_t<T> x, opmath_t<T> y) { return k ? x : y; });
  });
  it.finish();
  if (out.defined()) out.bump_version();
  return it.output();
}

// A Python number operand becomes a 0-dim tensor of the result dtype it promotes to.
Tensor where_scalar_other(const Tensor& cond, const Tensor& a, const Scalar& b) {
  return where_impl(Tensor(), cond, a, vt::full({}, b, result_type({a}, {b}), kCPU));
}
Tensor where_scalar_self(const Tensor& cond, const Scalar& a, const Tensor& b) {
  return where_impl(Tensor(), cond, vt::full({}, a, result_type({b}, {a}), kCPU), b);
}
Tensor where_scalars(const Tensor& cond, const Scalar& a, const Scalar& b) {
  const ScalarType rt = result_type({}, {a, b});
  return where_impl(Tensor(), cond, vt::full({}, a, rt, kCPU), vt::full({}, b, rt, kCPU));
}

void check_same_dtype(const Tensor& self, const Tensor& other, const char* what) {
  VT_CHECK(self.dtype() == other.dtype(), "expected dtype ", dtype_name(self.dtype()), " for `",
           what, "` but got dtype ", dtype_name(other.dtype()));
}

// Two-sided form, exact at both ends: start + w * (end - start) for |w| < 0.5, else
// end - (end - start) * (1 - w).
template <typename M>
M lerp_value(M start, M end, M w) {
  return std::abs(w) < M(0.5) ? start + w * (end - start) : end - (end - start) * (M(1) - w);
}

Tensor lerp_scalar_impl(const Tensor& out, const Tensor& start, const Tensor& end,
                        const Scalar& weight) {
  check_same_dtype(start, end, "end");
  return pointwise::binary<Dtypes::Floating>("lerp", out, start, end, {}, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M w = weight.to<M>();
    return [w](M s, M e) -> M { return lerp_value(s, e, w); };
  });
}

Tensor lerp_tensor_impl(const Tensor& out, const Tensor& start, const Tensor& end,
                        const Tensor& weight) {
  check_same_dtype(start, end, "end");
  if (weight.dim() > 0) check_same_dtype(start, weight, "weight");
  IterConfig c = pointwise::config("lerp", out, {start, end, weight}, {}, {});
  c.compute_dtype = start.dtype();
  TensorIterator it(std::move(c));
  return pointwise::run<Dtypes::Floating, 3>("lerp", it, out, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M s, M e, M w) -> M { return lerp_value(s, e, w); };
  });
}

// value is cast to the compute dtype without taking part in promotion, as torch.
Tensor addcmul_impl(const Tensor& out, const Tensor& self, const Tensor& t1, const Tensor& t2,
                    const Scalar& value) {
  TensorIterator it(pointwise::config("addcmul", out, {self, t1, t2}, {}, {}));
  return pointwise::run<Dtypes::Numeric, 3>("addcmul", it, out, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M v = value.to<M>();
    return [v](M s, M a, M b) -> M { return M(s + v * a * b); };
  });
}

Tensor addcdiv_impl(const Tensor& out, const Tensor& self, const Tensor& t1, const Tensor& t2,
                    const Scalar& value) {
  VT_CHECK(!(is_integral(t1.dtype(), true) && is_integral(t2.dtype(), true)),
           "Integer division with addcdiv is no longer supported, and in a future release "
           "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
           "behavior can be implemented as (input + value * torch.trunc(tensor1 / "
           "tensor2)).to(input.dtype) for integer inputs and as (input + value * tensor1 / "
           "tensor2) for float inputs. The future addcdiv behavior is just the latter "
           "implementation: (input + value * tensor1 / tensor2), for all dtypes.");
  TensorIterator it(pointwise::config("addcdiv", out, {self, t1, t2}, {}, {}));
  return pointwise::run<Dtypes::Floating, 3>("addcdiv", it, out, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M v = value.to<M>();
    return [v](M s, M a, M b) -> M { return s + v * a / b; };
  });
}

}  // namespace

namespace pointwise {

void register_ternary_ops() {
  define_forms<&where_impl>("where", "self", "Tensor condition, Tensor self, Tensor other", false,
                            "self_out");
  define_kernel("vt::where.ScalarOther(Tensor condition, Tensor self, Scalar other) -> Tensor",
                VT_DEVICE_CPU, &where_scalar_other);
  define_kernel("vt::where.ScalarSelf(Tensor condition, Scalar self, Tensor other) -> Tensor",
                VT_DEVICE_CPU, &where_scalar_self);
  define_kernel("vt::where.Scalar(Tensor condition, Scalar self, Scalar other) -> Tensor",
                VT_DEVICE_CPU, &where_scalars);
  define_forms<&lerp_scalar_impl>("lerp", "Scalar", "Tensor self, Tensor end, Scalar weight",
                                  true, "Scalar_out");
  define_forms<&lerp_tensor_impl>("lerp", "Tensor", "Tensor self, Tensor end, Tensor weight",
                                  true, "Tensor_out");
  define_forms<&addcmul_impl>("addcmul", "",
                              "Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1",
                              true, "out");
  define_forms<&addcdiv_impl>("addcdiv", "",
                              "Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1",
                              true, "out");
}

}  // namespace pointwise
}  // namespace vt
