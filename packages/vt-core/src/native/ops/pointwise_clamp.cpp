// clamp, clamp_min and clamp_max with number or tensor bounds. The bounds take part in type
// promotion (an int tensor clamped by 0.5 gives floats); NaN in the input or a bound gives NaN;
// min > max gives max everywhere, as torch.
#include <limits>
#include <optional>

#include "core/error.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;
using pointwise::is_nan;

template <typename M>
M clamp_below(M x, M lo) { return (is_nan(x) || x >= lo) ? x : lo; }
template <typename M>
M clamp_above(M x, M hi) { return (is_nan(x) || x <= hi) ? x : hi; }

template <typename M>
M lowest() {
  if constexpr (std::is_floating_point_v<M>) return -std::numeric_limits<M>::infinity();
  else return std::numeric_limits<M>::lowest();
}
template <typename M>
M highest() {
  if constexpr (std::is_floating_point_v<M>) return std::numeric_limits<M>::infinity();
  else return std::numeric_limits<M>::max();
}

void check_bounds(bool has_min, bool has_max) {
  VT_CHECK(has_min || has_max, "clamp: At least one of 'min' or 'max' must not be None");
}

// A missing bound is the type's infinity (or extreme integer), so one loop serves every case.
Tensor clamp_impl(const Tensor& out, const Tensor& a, const std::optional<Scalar>& lo,
                  const std::optional<Scalar>& hi) {
  check_bounds(lo.has_value(), hi.has_value());
  std::vector<Scalar> bounds;
  if (lo) bounds.push_back(*lo);
  if (hi) bounds.push_back(*hi);
  TensorIterator it(pointwise::config("clamp", out, {a}, std::move(bounds), {}));
  return pointwise::run<Dtypes::Numeric, 1>("clamp", it, out, [&](auto tag) {
    using M = opmath_t<decltype(tag)>;
    const M l = lo ? lo->to<M>() : lowest<M>();
    const M h = hi ? hi->to<M>() : highest<M>();
    return [l, h](M x) -> M { return clamp_above(clamp_below(x, l), h); };
  });
}

Tensor clamp_tensor_impl(const Tensor& out, const Tensor& a, const std::optional<Tensor>& lo,
                         const std::optional<Tensor>& hi) {
  check_bounds(lo.has_value(), hi.has_value());
  if (lo && hi) {
    TensorIterator it(pointwise::config("clamp", out, {a, *lo, *hi}, {}, {}));
    return pointwise::run<Dtypes::Numeric, 3>("clamp", it, out, [](auto tag) {
      using M = opmath_t<decltype(tag)>;
      return [](M x, M l, M h) -> M { return clamp_above(clamp_below(x, l), h); };
    });
  }
  if (lo) {
    return pointwise::binary<Dtypes::Numeric>("clamp", out, a, *lo, {}, [](auto tag) {
      using M = opmath_t<decltype(tag)>;
      return [](M x, M l) -> M { return clamp_below(x, l); };
    });
  }
  return pointwise::binary<Dtypes::Numeric>("clamp", out, a, *hi, {}, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M x, M h) -> M { return clamp_above(x, h); };
  });
}

Tensor clamp_min_impl(const Tensor& out, const Tensor& a, const Scalar& lo) {
  return clamp_impl(out, a, lo, std::nullopt);
}
Tensor clamp_max_impl(const Tensor& out, const Tensor& a, const Scalar& hi) {
  return clamp_impl(out, a, std::nullopt, hi);
}
Tensor clamp_min_tensor_impl(const Tensor& out, const Tensor& a, const Tensor& lo) {
  return clamp_tensor_impl(out, a, lo, std::nullopt);
}
Tensor clamp_max_tensor_impl(const Tensor& out, const Tensor& a, const Tensor& hi) {
  return clamp_tensor_impl(out, a, std::nullopt, hi);
}

}  // namespace

namespace pointwise {

void register_clamp_ops() {
  define_forms<&clamp_impl>("clamp", "", "Tensor self, Scalar? min=None, Scalar? max=None", true,
                            "out");
  define_forms<&clamp_tensor_impl>("clamp", "Tensor",
                                   "Tensor self, Tensor? min=None, Tensor? max=None", true,
                                   "Tensor_out");
  define_binary_tensor<&clamp_min_tensor_impl>("clamp_min");
  define_binary_scalar<&clamp_min_impl>("clamp_min");
  define_binary_tensor<&clamp_max_tensor_impl>("clamp_max");
  define_binary_scalar<&clamp_max_impl>("clamp_max");
}

}  // namespace pointwise
}  // namespace vt
