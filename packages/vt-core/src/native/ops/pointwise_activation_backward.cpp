// Fused derivatives of the activations, one pass over (grad, input) each: what the autograd
// formulas call when no graph of the backward itself is needed. The composed formulas (many
// full-size temporaries) stay for double backward.
#include <cmath>
#include <numbers>
#include <string_view>

#include "core/error.h"
#include "ops/math_fns.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;

// d gelu / dx: Phi(x) + x phi(x) ('none'), or the derivative of the tanh formula ('tanh').
Tensor gelu_backward_kernel(const Tensor& grad, const Tensor& self, std::string_view approximate) {
  if (approximate == "tanh") {
    return pointwise::binary<Dtypes::Floating>("_gelu_backward", Tensor(), grad, self, {}, [](auto tag) {
      using S = opmath_t<decltype(tag)>;
      const S k = S(std::numbers::sqrt2 * std::numbers::inv_sqrtpi), c = S(0.044715);
      return pointwise::float_vectorized<decltype(tag)>([k, c](auto g, auto x) {
        const auto x2 = x * x;
        const auto t = act::tanh(k * (x + c * x2 * x));
        const auto left = S(0.5) * (S(1) + t);
        const auto right = S(0.5) * x * (S(1) - t * t) * k * (S(1) + S(3) * c * x2);
        return g * (left + right);
      });
    });
  }
  VT_CHECK(approximate == "none", "approximate argument must be either none or tanh.");
  return pointwise::binary<Dtypes::Floating>("_gelu_backward", Tensor(), grad, self, {}, [](auto tag) {
    using S = opmath_t<decltype(tag)>;
    const S inv_sqrt2 = S(1 / std::numbers::sqrt2);
    const S inv_sqrt_2pi = S(0.5 * std::numbers::sqrt2 * std::numbers::inv_sqrtpi);
    return pointwise::float_vectorized<decltype(tag)>([=](auto g, auto x) {
      const auto cdf = S(0.5) * (S(1) + act::erf(x * inv_sqrt2));
      const auto pdf = act::exp(S(-0.5) * x * x) * inv_sqrt_2pi;
      return g * (cdf + x * pdf);
    });
  });
}

// d silu / dx = s (1 + x (1 - s)) with s = sigmoid(x).
Tensor silu_backward_kernel(const Tensor& grad, const Tensor& self) {
  return pointwise::binary<Dtypes::Floating>("_silu_backward", Tensor(), grad, self, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M g, M x) -> M {
      const M s = math::sigmoid(x);
      return g * s * (M(1) + x * (M(1) - s));
    };
  });
}

}  // namespace

namespace pointwise {

void register_activation_backward_ops() {
  define_kernel("vt::_gelu_backward(Tensor grad_output, Tensor self, str approximate='none') -> Tensor",
                VT_DEVICE_CPU, &gelu_backward_kernel);
  define_kernel("vt::_silu_backward(Tensor grad_output, Tensor self) -> Tensor", VT_DEVICE_CPU,
                &silu_backward_kernel);
}

}  // namespace pointwise
}  // namespace vt
