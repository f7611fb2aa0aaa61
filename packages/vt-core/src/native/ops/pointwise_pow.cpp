// pow (tensor ** tensor, tensor ** number) and atan2. Integer powers are exact and wrap like
// the dtype; a negative integer exponent of an integer tensor gives 0 (or +-1 for bases +-1)
// element-wise, but as a number it is an error, as in torch.
#include <cmath>

#include "core/error.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;

template <typename M>
M int_pow(M base, M exp) {
  if constexpr (std::is_signed_v<M>) {
    if (exp < 0) {
      if (base == M(1)) return M(1);
      if (base == M(-1)) return (exp & 1) ? M(-1) : M(1);
      return M(0);
    }
  }
  M result = M(1);
  while (exp) {
    if (exp & 1) result = M(result * base);
    base = M(base * base);
    exp = M(exp >> 1);
  }
  return result;
}

auto pow_fn = [](auto tag) {
  using M = opmath_t<decltype(tag)>;
  if constexpr (std::is_floating_point_v<M>) return [](M x, M y) -> M { return std::pow(x, y); };
  else return [](M x, M y) -> M { return int_pow(x, y); };
};

Tensor pow_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::binary<Dtypes::Numeric>("pow", out, a, b, {}, pow_fn);
}

// Exponents with a cheaper exact form, as torch special-cases them.
enum class PowKind { General, Square, Cube, Sqrt, Rsqrt, Reciprocal, InvSquare };

PowKind pow_kind(double e) {
  if (e == 2) return PowKind::Square;
  if (e == 3) return PowKind::Cube;
  if (e == 0.5) return PowKind::Sqrt;
  if (e == -0.5) return PowKind::Rsqrt;
  if (e == -1) return PowKind::Reciprocal;
  if (e == -2) return PowKind::InvSquare;
  return PowKind::General;
}

Tensor pow_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& e) {
  VT_CHECK(!(is_integral(a.dtype(), true) && !e.is_floating() && e.to_int() < 0),
           "Integers to negative integer powers are not allowed.");
  const PowKind kind = pow_kind(e.to_double());
  // bool ** bool is defined only for the exponents 0 and 1, which need no multiplication.
  return pointwise::binary<Dtypes::All>("pow", out, a, e, {}, [kind](auto tag) {
    using M = opmath_t<decltype(tag)>;
    if constexpr (std::is_same_v<M, bool>) {
      return [](M x, M y) -> M { return y ? x : true; };
    } else if constexpr (std::is_floating_point_v<M>) {
      return [kind](M x, M y) -> M {
        switch (kind) {
          case PowKind::Square: return x * x;
          case PowKind::Cube: return x * x * x;
          case PowKind::Sqrt: return std::sqrt(x);
          case PowKind::Rsqrt: return M(1) / std::sqrt(x);
          case PowKind::Reciprocal: return M(1) / x;
          case PowKind::InvSquare: return M(1) / (x * x);
          case PowKind::General: break;
        }
        return std::pow(x, y);
      };
    } else {
      return [](M x, M y) -> M { return int_pow(x, y); };
    }
  });
}

// number ** tensor. torch gives this form a contiguous result whatever the exponent's layout.
Tensor pow_number_base(const Scalar& base, const Tensor& e) {
  Tensor out = Tensor::empty(e.sizes(), result_type({e}, {base}), e.device());
  return pointwise::binary<Dtypes::Numeric>("pow", out, base, e, {}, pow_fn);
}

Tensor atan2_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::binary<Dtypes::Floating>("atan2", out, a, b, {.int_to_float = true},
                                             [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M y, M x) -> M { return std::atan2(y, x); };
  });
}

}  // namespace

namespace pointwise {

void register_pow_ops() {
  define_binary_tensor<&pow_impl>("pow");
  define_binary_scalar<&pow_scalar_impl>("pow");
  define_kernel("vt::pow.Scalar_Tensor(Scalar self, Tensor exponent) -> Tensor", VT_DEVICE_CPU,
                &pow_number_base);
  define_binary_tensor<&atan2_impl>("atan2");
}

}  // namespace pointwise
}  // namespace vt
