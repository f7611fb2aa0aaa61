// Unary elementwise ops: neg, exp.
#include <cmath>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/loops.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {
namespace {

template <typename Make>
Tensor run_unary(const char* name, const Tensor& a, bool int_to_float, Make make) {
  IterConfig c;
  c.op_name = name;
  c.outputs = {Tensor()};
  c.inputs = {a};
  c.promote_int_to_float = int_to_float;
  TensorIterator it(std::move(c));
  visit_dtype(it.compute_dtype(), [&](auto tag) { unary_loop<decltype(tag)>(it, make(tag)); });
  return it.output();
}

Tensor neg_kernel(const Tensor& a) {
  VT_CHECK(a.dtype() != ScalarType::Bool,
           "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
           "invert a mask, use the `~` or `logical_not()` operator instead.");
  return run_unary("neg", a, false, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x) -> M { return M(-x); };
  });
}

Tensor exp_kernel(const Tensor& a) {
  return run_unary("exp", a, true, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    if constexpr (std::is_floating_point_v<M>) return [](M x) -> M { return std::exp(x); };
    else return [](M x) -> M { return x; };  // unreachable: integers were promoted to float
  });
}

}  // namespace

void register_unary_ops() {
  define_kernel("vt::neg(Tensor self) -> Tensor",
                VT_DEVICE_CPU, &neg_kernel);
  define_kernel("vt::exp(Tensor self) -> Tensor",
                VT_DEVICE_CPU, &exp_kernel);
}

}  // namespace vt
