// Rounded division and remainders: div with rounding_mode 'trunc' / 'floor', floor_divide,
// remainder (the sign of the divisor, as Python's %) and fmod (the sign of the dividend, as C).
// Integers stay integers and raise on division by zero; floats follow IEEE (x / 0 -> inf).
#include <cmath>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;

enum class Rounding { Trunc, Floor };

template <typename M>
inline void check_divisor(M y) {
  if (y == M(0)) [[unlikely]] fail(VT_ERROR_INVALID_ARGUMENT, "ZeroDivisionError");
}

// x / -1 is negation: the most negative integer divided by -1 would trap.
template <typename M>
inline bool minus_one(M y) {
  if constexpr (std::is_signed_v<M>) return y == M(-1);
  else return false;
}

// Python's float floor division: exact for representable quotients, signed zeros kept.
template <typename M>
inline M floor_divide_float(M x, M y) {
  if (y == 0) return x / y;
  M mod = std::fmod(x, y);
  M div = (x - mod) / y;
  if (mod != 0 && (y < 0) != (mod < 0)) div -= 1;
  if (div == 0) return std::copysign(M(0), x / y);
  M floored = std::floor(div);
  return div - floored > M(0.5) ? floored + 1 : floored;
}

auto divide_fn(Rounding mode) {
  return [mode](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    if constexpr (std::is_floating_point_v<M>) {
      // torch rounds a 16-bit float quotient to its dtype before truncating it.
      return [mode](M x, M y) -> M {
        return mode == Rounding::Trunc ? std::trunc(M(T(x / y))) : floor_divide_float(x, y);
      };
    } else {
      return [mode](M x, M y) -> M {
        check_divisor(y);
        if (minus_one(y)) return M(-x);
        M q = M(x / y);
        if constexpr (std::is_signed_v<M>) {
          if (mode == Rounding::Floor && (x % y != 0) && ((x < 0) != (y < 0))) q = M(q - 1);
        }
        return q;
      };
    }
  };
}

// remainder: the result takes the divisor's sign; fmod: the dividend's.
auto remainder_fn(bool python_sign) {
  return [python_sign](auto tag) {
    using M = opmath_t<decltype(tag)>;
    if constexpr (std::is_floating_point_v<M>) {
      return [python_sign](M x, M y) -> M {
        M r = std::fmod(x, y);
        if (python_sign && r != 0 && (y < 0) != (r < 0)) r += y;
        return r;
      };
    } else {
      return [python_sign](M x, M y) -> M {
        check_divisor(y);
        if (minus_one(y)) return M(0);
        M r = M(x % y);
        if constexpr (std::is_signed_v<M>) {
          if (python_sign && r != 0 && (y < 0) != (r < 0)) r = M(r + y);
        }
        return r;
      };
    }
  };
}

std::optional<Rounding> parse_mode(std::optional<std::string_view> mode) {
  if (!mode) return std::nullopt;
  if (*mode == "trunc") return Rounding::Trunc;
  if (*mode == "floor") return Rounding::Floor;
  fail(VT_ERROR_INVALID_ARGUMENT,
       "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '", *mode,
       "'");
}

const char* mode_name(Rounding m) { return m == Rounding::Trunc ? "div_trunc" : "div_floor"; }

Tensor div_mode_impl(const Tensor& out, const Tensor& a, const Tensor& b,
                     std::optional<std::string_view> mode) {
  auto m = parse_mode(mode);
  if (!m) return pointwise::true_divide(out, a, b);
  return pointwise::binary<Dtypes::Numeric>(mode_name(*m), out, a, b, {}, divide_fn(*m));
}
Tensor div_mode_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b,
                            std::optional<std::string_view> mode) {
  auto m = parse_mode(mode);
  if (!m) return pointwise::true_divide(out, a, b);
  return pointwise::binary<Dtypes::Numeric>(mode_name(*m), out, a, b, {}, divide_fn(*m));
}

Tensor floor_divide_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::binary<Dtypes::Numeric>("floor_divide", out, a, b, {},
                                            divide_fn(Rounding::Floor));
}
Tensor floor_divide_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b) {
  return pointwise::binary<Dtypes::Numeric>("floor_divide", out, a, b, {},
                                            divide_fn(Rounding::Floor));
}
Tensor remainder_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::binary<Dtypes::Numeric>("remainder", out, a, b, {}, remainder_fn(true));
}
Tensor remainder_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b) {
  return pointwise::binary<Dtypes::Numeric>("remainder", out, a, b, {}, remainder_fn(true));
}
Tensor fmod_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::binary<Dtypes::Numeric>("fmod", out, a, b, {}, remainder_fn(false));
}
Tensor fmod_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b) {
  return pointwise::binary<Dtypes::Numeric>("fmod", out, a, b, {}, remainder_fn(false));
}

}  // namespace

namespace pointwise {

void register_divide_ops() {
  define_forms<&div_mode_impl>("div", "Tensor_mode",
                               "Tensor self, Tensor other, *, str? rounding_mode", true,
                               "out_mode");
  define_forms<&div_mode_scalar_impl>("div", "Scalar_mode",
                                      "Tensor self, Scalar other, *, str? rounding_mode", true);
  define_binary_tensor<&floor_divide_impl>("floor_divide");
  define_binary_scalar<&floor_divide_scalar_impl>("floor_divide");
  define_binary_tensor<&remainder_impl>("remainder");
  define_binary_scalar<&remainder_scalar_impl>("remainder");
  define_binary_tensor<&fmod_impl>("fmod");
  define_binary_scalar<&fmod_scalar_impl>("fmod");
}

}  // namespace pointwise
}  // namespace vt
