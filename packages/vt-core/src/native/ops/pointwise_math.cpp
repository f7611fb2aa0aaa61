// Unary math functions computed in floating point: exp, log, roots, trigonometry, sigmoid,
// erf (integer and bool inputs give the default float dtype), and the activations gelu and
// silu (floating inputs only, as torch). 16-bit floats compute in float32.
#include <cmath>
#include <numbers>
#include <string_view>

#include "core/error.h"
#include "ops/pointwise_internal.h"

// glibc's libmvec (linked through libm) has vector versions of these functions since 2.35.
// Declaring them under other names, as const functions with SIMD clones, lets GCC vectorize the
// contiguous loops below (errno, which blocks that for the std:: names, is never read here).
// Their accuracy is within a few ulps, like torch's own vector math.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define VT_MATH_FN(name)                                                                    \
  extern "C" float vt_vector_##name##f(float) noexcept __asm__(#name "f")                  \
      __attribute__((simd("notinbranch"), const));                                          \
  extern "C" double vt_vector_##name(double) noexcept __asm__(#name)                       \
      __attribute__((simd("notinbranch"), const));                                          \
  namespace vt::vecmath {                                                                   \
  inline float name(float x) { return vt_vector_##name##f(x); }                             \
  inline double name(double x) { return vt_vector_##name(x); }                              \
  }
#else
#define VT_MATH_FN(name)                                 \
  namespace vt::vecmath {                                \
  inline float name(float x) { return std::name(x); }    \
  inline double name(double x) { return std::name(x); }  \
  }
#endif
VT_MATH_FN(exp)
VT_MATH_FN(exp2)
VT_MATH_FN(expm1)
VT_MATH_FN(log)
VT_MATH_FN(log2)
VT_MATH_FN(log1p)
VT_MATH_FN(sin)
VT_MATH_FN(cos)
VT_MATH_FN(tan)
VT_MATH_FN(tanh)
VT_MATH_FN(erf)
#undef VT_MATH_FN

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

VT_FLOAT_UNARY(exp, vecmath::exp(x))
VT_FLOAT_UNARY(exp2, vecmath::exp2(x))
VT_FLOAT_UNARY(expm1, vecmath::expm1(x))
VT_FLOAT_UNARY(log, vecmath::log(x))
VT_FLOAT_UNARY(log2, vecmath::log2(x))
VT_FLOAT_UNARY(log1p, vecmath::log1p(x))
VT_FLOAT_UNARY(sqrt, std::sqrt(x))
VT_FLOAT_UNARY(rsqrt, M(1) / std::sqrt(x))
VT_FLOAT_UNARY(reciprocal, M(1) / x)
VT_FLOAT_UNARY(sin, vecmath::sin(x))
VT_FLOAT_UNARY(cos, vecmath::cos(x))
VT_FLOAT_UNARY(tan, vecmath::tan(x))
VT_FLOAT_UNARY(tanh, vecmath::tanh(x))
VT_FLOAT_UNARY(sigmoid, M(1) / (M(1) + vecmath::exp(-x)))
VT_FLOAT_UNARY(erf, vecmath::erf(x))

#undef VT_FLOAT_UNARY

// x * sigmoid(x); a large negative x gives -0 rather than NaN.
Tensor silu_impl(const Tensor& out, const Tensor& a) {
  return pointwise::unary<Dtypes::Floating>("silu", out, a, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x) -> M { return x / (M(1) + vecmath::exp(-x)); };
  });
}

// approximate='none': x * Phi(x) with the normal CDF through erf; 'tanh': the tanh formula.
Tensor gelu_impl(const Tensor& out, const Tensor& a, std::string_view approximate) {
  if (approximate == "tanh") {
    return pointwise::unary<Dtypes::Floating>("gelu", out, a, {}, [](auto tag) {
      using M = opmath_t<decltype(tag)>;
      const M scale = M(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / pi)
      return [scale](M x) -> M {
        return M(0.5) * x * (M(1) + vecmath::tanh(scale * (x + M(0.044715) * x * x * x)));
      };
    });
  }
  VT_CHECK(approximate == "none", "approximate argument must be either none or tanh.");
  return pointwise::unary<Dtypes::Floating>("gelu", out, a, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M inv_sqrt2 = M(1 / std::numbers::sqrt2);
    return [inv_sqrt2](M x) -> M { return M(0.5) * x * (M(1) + vecmath::erf(x * inv_sqrt2)); };
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
