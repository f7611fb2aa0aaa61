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

// input * mask * scale in one pass; the scale is rounded to the element type first, as torch's
// noise.div_(1 - p) does.
Tensor masked_scale_kernel(const Tensor& input, const Tensor& mask, double scale) {
  IterConfig c;
  c.op_name = "_masked_scale";
  c.outputs = {Tensor()};
  c.inputs = {input, mask};
  TensorIterator it(std::move(c));
  visit_dtype(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    if constexpr (std::is_floating_point_v<M>) {
      const M s = M(T(M(scale)));
      binary_loop<T>(it, [s](M x, M k) -> M { return x * (k * s); });
    } else {
      fail(VT_ERROR_TYPE, "_masked_scale: expected a floating tensor, got ", dtype_name(input.dtype()));
    }
  });
  return it.output();
}

// dropout as bernoulli then _masked_scale, both through the dispatcher, so a layer above
// (autograd) sees the mask it needs; p == 1 keeps nothing.
Tensor apply_dropout(const Tensor& out, const Tensor& input, double p) {
  if (p == 1.0) return out.defined() ? mul_(out, Scalar(0.0)) : mul(input, Scalar(0.0));
  Tensor keep = bernoulli(input, 1.0 - p);
  // In place: self *= keep * scale (keep * scale rounds like the fused kernel's scale).
  if (out.defined()) return mul_(out, mul_(keep, Scalar(1.0 / (1.0 - p))));
  return masked_scale(input, keep, 1.0 / (1.0 - p));
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
  define_kernel("vt::_masked_scale(Tensor self, Tensor mask, float scale) -> Tensor", VT_DEVICE_CPU,
                &masked_scale_kernel);
  define_kernel("vt::dropout(Tensor input, float p, bool train) -> Tensor", VT_DEVICE_CPU, &dropout_kernel);
  define_kernel("vt::dropout_(Tensor(a!) self, float p, bool train) -> Tensor(a!)", VT_DEVICE_CPU,
                &dropout__kernel);
}

}  // namespace nn

Tensor masked_scale(const Tensor& input, const Tensor& mask, double scale) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, double)> op("vt::_masked_scale");
  return op(input, mask, scale);
}

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
