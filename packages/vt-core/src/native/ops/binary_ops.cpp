// add, sub (with alpha), mul, div (true division) in functional, in-place and out= forms, and
// the reversed-number forms rsub and rdiv. register_binary_ops() also registers the family's
// other binary and ternary groups.
#include <cmath>

#include "core/error.h"
#include "ops/pointwise_internal.h"
#include "ops/registration.h"

namespace vt {
namespace {

using pointwise::Dtypes;

ScalarType number_dtype(const Scalar& s) {
  return s.is_bool() ? ScalarType::Bool : s.is_floating() ? ScalarType::Float64 : ScalarType::Int64;
}

void check_alpha(const char* op, ScalarType result, const Scalar& alpha) {
  VT_CHECK(!alpha.is_bool() || result == ScalarType::Bool, op,
           ": Boolean alpha only supported for Boolean results.");
  VT_CHECK(is_floating(result) || !alpha.is_floating(), op,
           ": For integral input tensors, argument alpha must not be a floating point number.");
}

void check_sub(ScalarType a, ScalarType b) {
  VT_CHECK(a != ScalarType::Bool || b != ScalarType::Bool,
           "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
           "or `logical_xor()` operator instead.");
  VT_CHECK(a != ScalarType::Bool && b != ScalarType::Bool,
           "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
           "trying to invert a mask, use the `~` or `logical_not()` operator instead.");
}

// a + alpha * b (alpha 1 skips the multiply so results match torch bit for bit).
auto add_fn(const Scalar& alpha, bool negate) {
  return [alpha, negate](auto tag) {
    using M = opmath_t<decltype(tag)>;
    M al = alpha.to<M>();
    bool one = alpha.to_double() == 1.0;
    if constexpr (std::is_same_v<M, bool>) {
      return [al](M x, M y) -> M { return x || (al && y); };
    } else {
      if (negate) al = M(-al);
      // A fused multiply-add, as torch's vectorized kernels do, so results agree bit for bit.
      return [al, one, negate](M x, M y) -> M {
        if (one) return negate ? M(x - y) : M(x + y);
        if constexpr (std::is_floating_point_v<M>) return std::fma(al, y, x);
        else return M(x + al * y);
      };
    }
  };
}

Tensor add_impl(const Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha) {
  check_alpha("add", result_type({a, b}, {}), alpha);
  return pointwise::binary<Dtypes::All>("add", out, a, b, {}, add_fn(alpha, false));
}
Tensor add_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b, const Scalar& alpha) {
  check_alpha("add", result_type({a}, {b}), alpha);
  return pointwise::binary<Dtypes::All>("add", out, a, b, {}, add_fn(alpha, false));
}
Tensor sub_impl(const Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha) {
  check_alpha("sub", result_type({a, b}, {}), alpha);
  check_sub(a.dtype(), b.dtype());
  return pointwise::binary<Dtypes::All>("sub", out, a, b, {}, add_fn(alpha, true));
}
Tensor sub_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b, const Scalar& alpha) {
  check_alpha("sub", result_type({a}, {b}), alpha);
  check_sub(a.dtype(), number_dtype(b));
  return pointwise::binary<Dtypes::All>("sub", out, a, b, {}, add_fn(alpha, true));
}

// other - alpha * self
Tensor rsub_scalar_kernel(const Tensor& a, const Scalar& other, const Scalar& alpha) {
  check_alpha("rsub", result_type({a}, {other}), alpha);
  check_sub(a.dtype(), number_dtype(other));
  return pointwise::binary<Dtypes::Numeric>("rsub", Tensor(), a, other, {}, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M al = alpha.to<M>();
    return [al](M x, M o) -> M { return M(o - al * x); };
  });
}

auto mul_fn = [](auto tag) {
  using M = opmath_t<decltype(tag)>;
  if constexpr (std::is_same_v<M, bool>) return [](M x, M y) -> M { return x && y; };
  else return [](M x, M y) -> M { return M(x * y); };
};

Tensor mul_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::binary<Dtypes::All>("mul", out, a, b, {}, mul_fn);
}
Tensor mul_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b) {
  return pointwise::binary<Dtypes::All>("mul", out, a, b, {}, mul_fn);
}

// True division always computes in a floating type.
auto div_fn = [](auto tag) {
  using M = opmath_t<decltype(tag)>;
  return [](M x, M y) -> M { return M(x / y); };
};

Tensor rdiv_scalar_kernel(const Tensor& a, const Scalar& other) {
  return pointwise::binary<Dtypes::Floating>("rdiv", Tensor(), a, other, {.int_to_float = true},
                                             [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x, M o) -> M { return M(o / x); };
  });
}

}  // namespace

namespace pointwise {

Tensor true_divide(const Tensor& out, const Tensor& a, const Tensor& b) {
  return binary<Dtypes::Floating>("div", out, a, b, {.int_to_float = true}, div_fn);
}
Tensor true_divide(const Tensor& out, const Tensor& a, const Scalar& b) {
  return binary<Dtypes::Floating>("div", out, a, b, {.int_to_float = true}, div_fn);
}

}  // namespace pointwise

namespace {
Tensor div_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::true_divide(out, a, b);
}
Tensor div_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b) {
  return pointwise::true_divide(out, a, b);
}
}  // namespace

void register_binary_ops() {
  using namespace pointwise;
  define_forms<&add_impl>("add", "Tensor", "Tensor self, Tensor other, *, Scalar alpha=1", true,
                          "out");
  define_forms<&add_scalar_impl>("add", "Scalar", "Tensor self, Scalar other, Scalar alpha=1",
                                 true);
  define_forms<&sub_impl>("sub", "Tensor", "Tensor self, Tensor other, *, Scalar alpha=1", true,
                          "out");
  define_forms<&sub_scalar_impl>("sub", "Scalar", "Tensor self, Scalar other, Scalar alpha=1",
                                 true);
  define_kernel("vt::rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor",
                VT_DEVICE_CPU, &rsub_scalar_kernel);
  define_binary_tensor<&mul_impl>("mul");
  define_binary_scalar<&mul_scalar_impl>("mul");
  define_binary_tensor<&div_impl>("div");
  define_binary_scalar<&div_scalar_impl>("div");
  define_kernel("vt::rdiv.Scalar(Tensor self, Scalar other) -> Tensor",
                VT_DEVICE_CPU, &rdiv_scalar_kernel);
  register_divide_ops();
  register_pow_ops();
  register_compare_ops();
  register_bitwise_ops();
  register_ternary_ops();
}

}  // namespace vt
