// Special floating values: isnan, isinf, isfinite (bool results; integers are always finite)
// and nan_to_num (NaN and infinities replaced; integers pass through).
#include <cmath>
#include <limits>
#include <optional>

#include "core/error.h"
#include "ops/pointwise_internal.h"

namespace vt {
namespace {

using pointwise::Dtypes;

template <typename Pred>
Tensor classify(const char* name, const Tensor& a, Pred pred, bool integer_value) {
  return pointwise::unary<Dtypes::All>(name, Tensor(), a, {.bool_out = true}, [=](auto tag) {
    using M = opmath_t<decltype(tag)>;
    if constexpr (std::is_floating_point_v<M>) return [pred](M x) -> bool { return pred(x); };
    else return [integer_value](M) -> bool { return integer_value; };
  });
}

Tensor isnan_kernel(const Tensor& a) {
  return classify("isnan", a, [](auto x) { return x != x; }, false);
}
template <typename M>
constexpr M infinity(M) { return std::numeric_limits<M>::infinity(); }

Tensor isinf_kernel(const Tensor& a) {
  return classify("isinf", a, [](auto x) { return std::abs(x) == infinity(x); }, false);
}
Tensor isfinite_kernel(const Tensor& a) {
  // NaN compares false, so it is not finite.
  return classify("isfinite", a, [](auto x) { return std::abs(x) < infinity(x); }, true);
}

// The largest finite value of a dtype, in its opmath type.
template <typename T>
opmath_t<T> largest_finite() {
  if constexpr (std::is_same_v<T, Half>) {
    return 65504.0f;
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    BFloat16 b;
    b.bits = 0x7f7f;
    return float(b);
  } else {
    return std::numeric_limits<T>::max();
  }
}

// Defaults as torch: NaN -> 0, +inf -> the dtype's largest finite value, -inf -> its lowest.
Tensor nan_to_num_impl(const Tensor& out, const Tensor& a, std::optional<double> nan,
                       std::optional<double> posinf, std::optional<double> neginf) {
  return pointwise::unary<Dtypes::All>("nan_to_num", out, a, {}, [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    if constexpr (std::is_floating_point_v<M>) {
      const M big = largest_finite<T>();
      const M nan_v = M(nan.value_or(0.0));
      const M pos_v = posinf ? M(*posinf) : big;
      const M neg_v = neginf ? M(*neginf) : M(-big);
      const M inf = std::numeric_limits<M>::infinity();
      return [=](M x) -> M { return x != x ? nan_v : x == inf ? pos_v : x == -inf ? neg_v : x; };
    } else {
      return [](M x) -> M { return x; };
    }
  });
}

}  // namespace

namespace pointwise {

void register_unary_special_ops() {
  define_kernel("vt::isnan(Tensor self) -> Tensor", VT_DEVICE_CPU, &isnan_kernel);
  define_kernel("vt::isinf(Tensor self) -> Tensor", VT_DEVICE_CPU, &isinf_kernel);
  define_kernel("vt::isfinite(Tensor self) -> Tensor", VT_DEVICE_CPU, &isfinite_kernel);
  define_forms<&nan_to_num_impl>(
      "nan_to_num", "", "Tensor self, float? nan=None, float? posinf=None, float? neginf=None",
      true, "out");
}

}  // namespace pointwise
}  // namespace vt
