// bitwise_and/or/xor (integers and bool) and the shifts bitwise_left_shift/right_shift
// (integers). Floating operands are NotImplementedError, as in torch. A shift by a negative
// amount or by at least the bit width gives 0 (or -1 for a right shift of a negative value).
#include <climits>

#include "core/error.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;

template <typename Op>
auto bitwise(Op op) {
  return [op](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [op](M x, M y) -> M { return M(op(x, y)); };
  };
}

#define VT_BITWISE_OP(name, expr)                                                             \
  Tensor name##_impl(const Tensor& out, const Tensor& a, const Tensor& b) {                   \
    return pointwise::binary<Dtypes::Integral>(#name, out, a, b, {},                          \
                                               bitwise([](auto x, auto y) { return expr; })); \
  }                                                                                           \
  Tensor name##_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b) {            \
    return pointwise::binary<Dtypes::Integral>(#name, out, a, b, {},                          \
                                               bitwise([](auto x, auto y) { return expr; })); \
  }

VT_BITWISE_OP(bitwise_and, x & y)
VT_BITWISE_OP(bitwise_or, x | y)
VT_BITWISE_OP(bitwise_xor, x ^ y)

#undef VT_BITWISE_OP

template <typename M>
constexpr bool shift_out_of_range(M amount) {
  using U = std::make_unsigned_t<M>;
  return U(amount) >= U(sizeof(M) * CHAR_BIT);  // negative amounts are huge as unsigned
}

auto left_shift = [](auto tag) {
  using M = opmath_t<decltype(tag)>;
  return [](M x, M y) -> M {
    using U = std::make_unsigned_t<M>;
    return shift_out_of_range(y) ? M(0) : M(U(x) << y);
  };
};

auto right_shift = [](auto tag) {
  using M = opmath_t<decltype(tag)>;
  return [](M x, M y) -> M {
    if (!shift_out_of_range(y)) return M(x >> y);  // arithmetic for signed types
    if constexpr (std::is_signed_v<M>) return x < 0 ? M(-1) : M(0);
    else return M(0);
  };
};

#define VT_SHIFT_OP(name, fn)                                                                  \
  Tensor name##_impl(const Tensor& out, const Tensor& a, const Tensor& b) {                    \
    return pointwise::binary<Dtypes::IntegralNoBool>(#name, out, a, b, {}, fn);                \
  }                                                                                            \
  Tensor name##_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b) {             \
    return pointwise::binary<Dtypes::IntegralNoBool>(#name, out, a, b, {}, fn);                \
  }

VT_SHIFT_OP(bitwise_left_shift, left_shift)
VT_SHIFT_OP(bitwise_right_shift, right_shift)

#undef VT_SHIFT_OP

}  // namespace

namespace pointwise {

void register_bitwise_ops() {
  define_binary_tensor<&bitwise_and_impl>("bitwise_and");
  define_binary_scalar<&bitwise_and_scalar_impl>("bitwise_and");
  define_binary_tensor<&bitwise_or_impl>("bitwise_or");
  define_binary_scalar<&bitwise_or_scalar_impl>("bitwise_or");
  define_binary_tensor<&bitwise_xor_impl>("bitwise_xor");
  define_binary_scalar<&bitwise_xor_scalar_impl>("bitwise_xor");
  define_binary_tensor<&bitwise_left_shift_impl>("bitwise_left_shift");
  define_binary_scalar<&bitwise_left_shift_scalar_impl>("bitwise_left_shift");
  define_binary_tensor<&bitwise_right_shift_impl>("bitwise_right_shift");
  define_binary_scalar<&bitwise_right_shift_scalar_impl>("bitwise_right_shift");
}

}  // namespace pointwise
}  // namespace vt
