// Unary math functions computed in floating point: exp, log, roots, trigonometry, sigmoid,
// erf (integer and bool inputs give the default float dtype), and the activations gelu and
// silu (floating inputs only, as torch). 16-bit floats compute in float32.
#include <cmath>
#include <numbers>
#include <string_view>

#include "core/error.h"
#include "ops/math_fns.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;

// name_impl(out, a) computing expr of x (an opmath value of type M) for every element.
#define VT_FLOAT_UNARY(name, expr)                                                           \
  Tensor name##_impl(const Tensor& out, const Tensor& a) {                                   \
    return pointwise::unary<Dtypes::Floating>(#name, out, a, {.int_to_float = true},         \
                                              [](auto tag) {                                 \
      using M = opmath_t<decltype(tag)>;                                                     \
      return [](M x) -> M { return expr; };                                                  \
    });                                                                                      \
  }

VT_FLOAT_UNARY(exp2, math::exp2(x))
VT_FLOAT_UNARY(expm1, math::expm1(x))
VT_FLOAT_UNARY(log, math::log(x))
VT_FLOAT_UNARY(log2, math::log2(x))
VT_FLOAT_UNARY(log1p, math::log1p(x))
VT_FLOAT_UNARY(sqrt, std::sqrt(x))
VT_FLOAT_UNARY(rsqrt, M(1) / std::sqrt(x))
VT_FLOAT_UNARY(reciprocal, M(1) / x)
VT_FLOAT_UNARY(sin, math::sin(x))
VT_FLOAT_UNARY(cos, math::cos(x))
VT_FLOAT_UNARY(tan, math::tan(x))
VT_FLOAT_UNARY(tanh, math::tanh(x))
VT_FLOAT_UNARY(erf, math::erf(x))

#undef VT_FLOAT_UNARY

// exp, sigmoid and silu: float32 runs a vector at a time through vec_math.h's exp (measured
// faster than libmvec's on the machines here), float64 through libmvec (math_fns.h).
#define VT_EXP_UNARY(name, promote, expr)                                                   \
  Tensor name##_impl(const Tensor& out, const Tensor& a) {                                  \
    return pointwise::unary<Dtypes::Floating>(#name, out, a, {.int_to_float = promote},     \
                                              [](auto tag) {                                \
      using S [[maybe_unused]] = opmath_t<decltype(tag)>;                                   \
      return pointwise::float_vectorized<decltype(tag)>([](auto x) { return expr; });       \
    });                                                                                     \
  }

VT_EXP_UNARY(exp, true, act::exp(x))
VT_EXP_UNARY(sigmoid, true, S(1) / (S(1) + act::exp(-x)))
// x * sigmoid(x); a large negative x gives -0 rather than NaN.
VT_EXP_UNARY(silu, false, x / (S(1) + act::exp(-x)))

#undef VT_EXP_UNARY

// approximate='none': x * Phi(x) with the normal CDF through erf; 'tanh': the tanh formula.
// float32 runs a vector at a time through the activations' polynomials (math_fns.h).
Tensor gelu_impl(const Tensor& out, const Tensor& a, std::string_view approximate) {
  if (approximate == "tanh") {
    return pointwise::unary<Dtypes::Floating>("gelu", out, a, {}, [](auto tag) {
      using S = opmath_t<decltype(tag)>;
      const S scale = S(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / pi)
      return pointwise::float_vectorized<decltype(tag)>([scale](auto x) {
        return S(0.5) * x * (S(1) + act::tanh(scale * (x + S(0.044715) * x * x * x)));
      });
    });
  }
  VT_CHECK(approximate == "none", "approximate argument must be either none or tanh.");
  return pointwise::unary<Dtypes::Floating>("gelu", out, a, {}, [](auto tag) {
    using S = opmath_t<decltype(tag)>;
    const S inv_sqrt2 = S(1 / std::numbers::sqrt2);
    return pointwise::float_vectorized<decltype(tag)>([inv_sqrt2](auto x) {
      return S(0.5) * x * (S(1) + act::erf(x * inv_sqrt2));
    });
  });
}

}  // namespace

namespace pointwise {

void register_unary_math_ops() {
  define_unary<&exp_impl>("exp");
  define_unary<&exp2_impl>("exp2");
  define_unary<&expm1_impl>("expm1");
  define_unary<&log_impl>("log");
  define_unary<&log2_impl>("log2");
  define_unary<&log1p_impl>("log1p");
  define_unary<&sqrt_impl>("sqrt");
  define_unary<&rsqrt_impl>("rsqrt");
  define_unary<&reciprocal_impl>("reciprocal");
  define_unary<&sin_impl>("sin");
  define_unary<&cos_impl>("cos");
  define_unary<&tan_impl>("tan");
  define_unary<&tanh_impl>("tanh");
  define_unary<&sigmoid_impl>("sigmoid");
  define_unary<&erf_impl>("erf");
  define_unary<&silu_impl>("silu");
  define_forms<&gelu_impl>("gelu", "", "Tensor self, *, str approximate='none'", true, "out");
}

}  // namespace pointwise
}  // namespace vt
