// Unary elementwise ops that keep their input's dtype (neg, abs, sign, relu, rounding) or give
// bool (logical_not), and bitwise_not. register_unary_ops() also registers the family's other
// unary groups (math functions, special values, clamp).
#include <cmath>

#include "core/error.h"
#include "ops/pointwise_internal.h"
#include "ops/registration.h"

namespace vt {
namespace {

using pointwise::Dtypes;

Tensor neg_impl(const Tensor& out, const Tensor& a) {
  VT_CHECK(a.dtype() != ScalarType::Bool,
           "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
           "invert a mask, use the `~` or `logical_not()` operator instead.");
  return pointwise::unary<Dtypes::Numeric>("neg", out, a, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x) -> M { return M(-x); };
  });
}

Tensor abs_impl(const Tensor& out, const Tensor& a) {
  return pointwise::unary<Dtypes::Numeric>("abs", out, a, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    if constexpr (std::is_floating_point_v<M>) return [](M x) -> M { return std::abs(x); };
    else if constexpr (std::is_unsigned_v<M>) return [](M x) -> M { return x; };
    else return [](M x) -> M { return x < 0 ? M(-x) : x; };  // the most negative value wraps
  });
}

// -1, 0 or 1; NaN and -0.0 give 0, bool is its own sign.
Tensor sign_impl(const Tensor& out, const Tensor& a) {
  return pointwise::unary<Dtypes::All>("sign", out, a, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    if constexpr (std::is_unsigned_v<M>) return [](M x) -> M { return M(x != 0); };  // bool too
    else return [](M x) -> M { return M(int(M(0) < x) - int(x < M(0))); };
  });
}

// max(x, 0) that keeps NaN, as torch's clamp_min(0).
Tensor relu_impl(const Tensor& out, const Tensor& a) {
  VT_CHECK(a.dtype() != ScalarType::Bool, "Boolean inputs not supported for relu");
  return pointwise::unary<Dtypes::Numeric>("relu", out, a, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x) -> M { return (x > M(0) || pointwise::is_nan(x)) ? x : M(0); };
  });
}

// floor, ceil, trunc and round leave integers as they are.
template <typename FloatFn>
Tensor rounding(const char* name, const Tensor& out, const Tensor& a, FloatFn fn) {
  return pointwise::unary<Dtypes::Numeric>(name, out, a, {}, [fn](auto tag) {
    using M = opmath_t<decltype(tag)>;
    if constexpr (std::is_floating_point_v<M>) return [fn](M x) -> M { return fn(x); };
    else return [](M x) -> M { return x; };
  });
}

Tensor floor_impl(const Tensor& out, const Tensor& a) {
  return rounding("floor", out, a, [](auto x) { return std::floor(x); });
}
Tensor ceil_impl(const Tensor& out, const Tensor& a) {
  return rounding("ceil", out, a, [](auto x) { return std::ceil(x); });
}
Tensor trunc_impl(const Tensor& out, const Tensor& a) {
  return rounding("trunc", out, a, [](auto x) { return std::trunc(x); });
}

// Half-way cases go to the even neighbour. decimals scales by a power of ten first, as torch
// does (a negative count rounds to tens, hundreds...); it needs a floating dtype.
Tensor round_impl(const Tensor& out, const Tensor& a, int64_t decimals) {
  if (decimals == 0) return rounding("round", out, a, [](auto x) { return std::nearbyint(x); });
  return pointwise::unary<Dtypes::Floating>("round", out, a, {}, [decimals](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const bool negative = decimals < 0;
    const M scale = M(std::pow(10.0, double(negative ? -decimals : decimals)));
    return [negative, scale](M x) -> M {
      return negative ? std::nearbyint(x / scale) * scale : std::nearbyint(x * scale) / scale;
    };
  });
}

Tensor logical_not_impl(const Tensor& out, const Tensor& a) {
  return pointwise::unary<Dtypes::All>("logical_not", out, a, {.bool_out = true}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x) -> bool { return !bool(x); };
  });
}

Tensor bitwise_not_impl(const Tensor& out, const Tensor& a) {
  return pointwise::unary<Dtypes::Integral>("bitwise_not", out, a, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    if constexpr (std::is_same_v<M, bool>) return [](M x) -> M { return !x; };
    else return [](M x) -> M { return M(~x); };
  });
}

}  // namespace

void register_unary_ops() {
  using namespace pointwise;
  define_unary<&neg_impl>("neg");
  define_unary<&abs_impl>("abs");
  define_unary<&sign_impl>("sign");
  define_unary<&relu_impl>("relu");
  define_unary<&floor_impl>("floor");
  define_unary<&ceil_impl>("ceil");
  define_unary<&trunc_impl>("trunc");
  define_forms<&round_impl>("round", "", "Tensor self, *, int decimals=0", true, "out");
  define_unary<&logical_not_impl>("logical_not");
  define_unary<&bitwise_not_impl>("bitwise_not");
  register_unary_math_ops();
  register_activation_backward_ops();
  register_unary_special_ops();
  register_clamp_ops();
}

}  // namespace vt
