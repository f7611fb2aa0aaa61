// dropout: a Bernoulli keep-mask from the random family, applied as x * (mask / (1 - p)) in one
// pass. The scale is rounded to the element type first, as torch's noise.div_(1 - p) does.
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/loops.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

bool dropout_is_identity(const Tensor& input, double p, bool train) {
  VT_CHECK_VALUE(p >= 0.0 && p <= 1.0, "dropout probability has to be between 0 and 1, but got ", p);
  if (!train || p == 0.0 || input.numel() == 0) return true;
  VT_CHECK(is_floating(input.dtype()), "dropout: result type ", dtype_name(default_float_dtype()),
           " can't be cast to the desired output type ", dtype_name(input.dtype()));
  return false;
}

// out (undefined: a new tensor) = input * keep * 1 / (1 - p); p == 1 keeps nothing.
Tensor apply_dropout(const Tensor& out, const Tensor& input, double p) {
  if (p == 1.0) return out.defined() ? mul_(out, Scalar(0.0)) : mul(input, Scalar(0.0));
  const Tensor keep = bernoulli(input, 1.0 - p);
  IterConfig c;
  c.op_name = out.defined() ? "dropout_" : "dropout";
  c.outputs = {out};
  c.inputs = {input, keep};
  TensorIterator it(std::move(c));
  visit_dtype(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    if constexpr (std::is_floating_point_v<M>) {
      const M scale = M(T(M(1) / M(1.0 - p)));
      binary_loop<T>(it, [scale](M x, M k) -> M { return x * (k * scale); });
    }
  });
  if (out.defined()) out.bump_version();
  return it.output();
}

Tensor dropout_kernel(const Tensor& input, double p, bool train) {
  if (dropout_is_identity(input, p, train)) return input;
  return apply_dropout(Tensor(), input, p);
}

Tensor dropout__kernel(const Tensor& self, double p, bool train) {
  if (dropout_is_identity(self, p, train)) return self;
  apply_dropout(self, self, p);
  return self;
}

}  // namespace

void register_dropout_ops() {
  define_kernel("vt::dropout(Tensor input, float p, bool train) -> Tensor", VT_DEVICE_CPU, &dropout_kernel);
  define_kernel("vt::dropout_(Tensor(a!) self, float p, bool train) -> Tensor(a!)", VT_DEVICE_CPU,
                &dropout__kernel);
}

}  // namespace nn

Tensor dropout(const Tensor& input, double p, bool train) {
  static const OpHandle<Tensor(const Tensor&, double, bool)> op("vt::dropout");
  return op(input, p, train);
}
const Tensor& dropout_(const Tensor& self, double p, bool train) {
  static const OpHandle<Tensor(const Tensor&, double, bool)> op("vt::dropout_");
  op(self, p, train);
  return self;
}

}  // namespace vt
