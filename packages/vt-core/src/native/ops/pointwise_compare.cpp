// Comparisons (eq, ne, lt, le, gt, ge) and logical_and/or/xor, all giving bool tensors after
// promoting their inputs; maximum and minimum, which propagate NaN.
#include "core/error.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;

// A make(tag) for a bool-valued predicate of two opmath values.
template <typename Pred>
auto predicate(Pred pred) {
  return [pred](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [pred](M x, M y) -> bool { return pred(x, y); };
  };
}

constexpr pointwise::Promote kBoolOut{.bool_out = true};

#define VT_PREDICATE_OP(name, expr)                                                        \
  Tensor name##_impl(const Tensor& out, const Tensor& a, const Tensor& b) {                \
    return pointwise::binary<Dtypes::All>(#name, out, a, b, kBoolOut,                      \
                                          predicate([](auto x, auto y) { return expr; })); \
  }
// The comparisons also take a Python number.
#define VT_COMPARISON(name, expr)                                                          \
  VT_PREDICATE_OP(name, expr)                                                              \
  Tensor name##_scalar_impl(const Tensor& out, const Tensor& a, const Scalar& b) {         \
    return pointwise::binary<Dtypes::All>(#name, out, a, b, kBoolOut,                      \
                                          predicate([](auto x, auto y) { return expr; })); \
  }

VT_COMPARISON(eq, x == y)
VT_COMPARISON(ne, x != y)
VT_COMPARISON(lt, x < y)
VT_COMPARISON(le, x <= y)
VT_COMPARISON(gt, x > y)
VT_COMPARISON(ge, x >= y)
VT_PREDICATE_OP(logical_and, bool(x) && bool(y))
VT_PREDICATE_OP(logical_or, bool(x) || bool(y))
VT_PREDICATE_OP(logical_xor, bool(x) != bool(y))

#undef VT_COMPARISON
#undef VT_PREDICATE_OP

// NaN in either input wins; equal inputs give the first (so maximum(-0.0, 0.0) is -0.0).
Tensor maximum_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::binary<Dtypes::All>("maximum", out, a, b, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x, M y) -> M { return (pointwise::is_nan(x) || x >= y) ? x : y; };
  });
}
Tensor minimum_impl(const Tensor& out, const Tensor& a, const Tensor& b) {
  return pointwise::binary<Dtypes::All>("minimum", out, a, b, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x, M y) -> M { return (pointwise::is_nan(x) || x <= y) ? x : y; };
  });
}

}  // namespace

namespace pointwise {

void register_compare_ops() {
  define_binary_tensor<&eq_impl>("eq");
  define_binary_scalar<&eq_scalar_impl>("eq");
  define_binary_tensor<&ne_impl>("ne");
  define_binary_scalar<&ne_scalar_impl>("ne");
  define_binary_tensor<&lt_impl>("lt");
  define_binary_scalar<&lt_scalar_impl>("lt");
  define_binary_tensor<&le_impl>("le");
  define_binary_scalar<&le_scalar_impl>("le");
  define_binary_tensor<&gt_impl>("gt");
  define_binary_scalar<&gt_scalar_impl>("gt");
  define_binary_tensor<&ge_impl>("ge");
  define_binary_scalar<&ge_scalar_impl>("ge");
  // torch takes only tensors for the logical ops, maximum and minimum (no in-place forms
  // for the last two).
  define_binary_tensor<&logical_and_impl>("logical_and");
  define_binary_tensor<&logical_or_impl>("logical_or");
  define_binary_tensor<&logical_xor_impl>("logical_xor");
  define_binary_tensor<&maximum_impl>("maximum", false);
  define_binary_tensor<&minimum_impl>("minimum", false);
}

}  // namespace pointwise
}  // namespace vt
