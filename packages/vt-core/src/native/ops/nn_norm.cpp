// layer_norm, rms_norm and group_norm: one task per normalized row (or (sample, group) block)
// computes its statistics in two vectorized passes and writes y = x * scale + shift in a third.
// Statistics accumulate in float for 16-bit inputs, in the input type otherwise, as in torch.
#include <cmath>

#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

// Parameters of a norm, converted once to the compute type.
struct Affine {
  Tensor weight, bias;
};

// torch accepts a 16-bit input with float32 parameters ("mixed dtype"); otherwise parameters
// must have the input's dtype.
Affine check_params(const char* op, const Tensor& input, const std::optional<Tensor>& weight,
                    const std::optional<Tensor>& bias, bool strict) {
  const ScalarType acc = is_reduced_float(input.dtype()) ? ScalarType::Float32 : input.dtype();
  for (const auto* p : {&weight, &bias}) {
    if (!strict || !*p || !(*p)->defined()) continue;
    const ScalarType pt = (**p).dtype();
    VT_CHECK(pt == input.dtype() || (is_reduced_float(input.dtype()) && pt == ScalarType::Float32),
             op, ": mixed dtype (CPU): expected parameters of dtype ", dtype_name(input.dtype()),
             is_reduced_float(input.dtype()) ? " or float32" : "", " but got ", dtype_name(pt));
  }
  return {param_as(weight, acc), param_as(bias, acc)};
}

DimVector check_normalized_shape(const char* op, const Tensor& input, IntArrayRef normalized_shape,
                                 const std::optional<Tensor>& weight, const std::optional<Tensor>& bias) {
  VT_CHECK(!normalized_shape.empty(), "Expected normalized_shape to be at least 1-dimensional, "
           "i.e., containing at least one element, but got normalized_shape = ",
           shape_string(normalized_shape));
  const int64_t k = int64_t(normalized_shape.size());
  bool ok = input.dim() >= k;
  for (int64_t d = 0; ok && d < k; ++d) ok = input.sizes()[input.dim() - k + d] == normalized_shape[d];
  VT_CHECK(ok, "Given normalized_shape=", shape_string(normalized_shape),
           ", expected input with shape [*, ", shape_string(normalized_shape).substr(1),
           ", but got input of size", shape_string(input.sizes()));
  for (const auto& [p, what] : {std::pair{&weight, "weight"}, std::pair{&bias, "bias"}})
    VT_CHECK(!*p || !(*p)->defined() || same_shape((*p)->sizes(), normalized_shape), op, ": Expected ",
             what, " to be of same shape as normalized_shape, but got ", what, " of shape ",
             shape_string((*p)->sizes()), " and normalized_shape = ", shape_string(normalized_shape));
  if (!is_floating(input.dtype())) raise_dtype_not_implemented(op, input.dtype());
  return DimVector(normalized_shape);
}

// Normalizes rows of n elements: stats(row) -> (shift, scale) such that y = (x - shift) * scale,
// then y * weight + bias per column.
template <typename T, typename Stats>
void normalize_rows(const Tensor& x, Tensor& y, int64_t n, const Affine& p, Stats stats) {
  using A = opmath_t<T>;
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const T* xp = x.data_as<T>();
  T* yp = y.data_as<T>();
  const A* w = p.weight.defined() ? p.weight.data_as<A>() : nullptr;
  const A* b = p.bias.defined() ? p.bias.data_as<A>() : nullptr;
  parallel_for(0, rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* xr = xp + r * n;
      T* yr = yp + r * n;
      const auto [shift, scale] = stats(xr);
      if (w && b) for (int64_t i = 0; i < n; ++i) yr[i] = T((A(xr[i]) - shift) * scale * w[i] + b[i]);
      else if (w) for (int64_t i = 0; i < n; ++i) yr[i] = T((A(xr[i]) - shift) * scale * w[i]);
      else if (b) for (int64_t i = 0; i < n; ++i) yr[i] = T((A(xr[i]) - shift) * scale + b[i]);
      else for (int64_t i = 0; i < n; ++i) yr[i] = T((A(xr[i]) - shift) * scale);
    }
  });
}

Tensor layer_norm_kernel(const Tensor& input, IntArrayRef normalized_shape,
                         const std::optional<Tensor>& weight, const std::optional<Tensor>& bias,
                         double eps) {
  check_normalized_shape("layer_norm", input, normalized_shape, weight, bias);
  const Affine p = check_params("layer_norm", input, weight, bias, true);
  const Tensor x = contiguous(input);
  Tensor y = Tensor::empty(x.sizes(), x.dtype(), x.device());
  const int64_t n = compute_numel(normalized_shape);
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      normalize_rows<T>(x, y, n, p, [n, eps](const T* row) {
        const A mean = row_sum(row, n) / A(n);
        const A var = row_sum_sq(row, n, mean) / A(n);
        return std::pair{mean, A(1) / std::sqrt(var + A(eps))};
      });
    }
  });
  return y;
}

Tensor rms_norm_kernel(const Tensor& input, IntArrayRef normalized_shape,
                       const std::optional<Tensor>& weight, std::optional<double> eps) {
  check_normalized_shape("rms_norm", input, normalized_shape, weight, std::nullopt);
  const Affine p = check_params("rms_norm", input, weight, std::nullopt, false);
  const Tensor x = contiguous(input);
  Tensor y = Tensor::empty(x.sizes(), x.dtype(), x.device());
  const int64_t n = compute_numel(normalized_shape);
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      // The default eps is the compute type's machine epsilon, as in torch.
      const A e = eps ? A(*eps) : std::numeric_limits<A>::epsilon();
      normalize_rows<T>(x, y, n, p, [n, e](const T* row) {
        return std::pair{A(0), A(1) / std::sqrt(row_sum_sq(row, n, A(0)) / A(n) + e)};
      });
    }
  });
  return y;
}

Tensor group_norm_kernel(const Tensor& input, int64_t num_groups, const std::optional<Tensor>& weight,
                         const std::optional<Tensor>& bias, double eps) {
  VT_CHECK(input.dim() >= 2, "Expected at least 2 dimensions for input tensor but received ", input.dim());
  const int64_t n = input.sizes()[0], c = input.sizes()[1];
  VT_CHECK(num_groups > 0 && c % num_groups == 0, "Expected number of channels in input to be "
           "divisible by num_groups, but got input of shape ", shape_string(input.sizes()),
           " and num_groups=", num_groups);
  for (const auto& [p, what] : {std::pair{&weight, "weight"}, std::pair{&bias, "bias"}})
    VT_CHECK(!*p || !(*p)->defined() || ((*p)->dim() == 1 && (*p)->numel() == c), "Expected ", what,
             " to be a vector of size equal to the number of channels in input, but got ", what,
             " of shape ", shape_string((*p)->sizes()), " and input of shape ", shape_string(input.sizes()));
  if (!is_floating(input.dtype())) raise_dtype_not_implemented("group_norm", input.dtype());
  const Affine p = check_params("group_norm", input, weight, bias, true);
  const Tensor x = contiguous(input);
  Tensor y = Tensor::empty(x.sizes(), x.dtype(), x.device());
  const int64_t spatial = n * c == 0 ? 0 : x.numel() / (n * c);
  const int64_t per_group = c / num_groups, block = per_group * spatial;
  if (y.numel() == 0) return y;
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const A* w = p.weight.defined() ? p.weight.data_as<A>() : nullptr;
      const A* b = p.bias.defined() ? p.bias.data_as<A>() : nullptr;
      const T* xp = x.data_as<T>();
      T* yp = y.data_as<T>();
      parallel_for(0, n * num_groups, std::max<int64_t>(1, kGrainSize / block), [&](int64_t lo, int64_t hi) {
        for (int64_t task = lo; task < hi; ++task) {
          const T* xg = xp + task * block;
          T* yg = yp + task * block;
          const A mean = row_sum(xg, block) / A(block);
          const A rstd = A(1) / std::sqrt(row_sum_sq(xg, block, mean) / A(block) + A(eps));
          for (int64_t k = 0; k < per_group; ++k) {
            const int64_t ch = (task % num_groups) * per_group + k;
            // y = x * scale + shift per channel, as torch folds it.
            const A scale = rstd * (w ? w[ch] : A(1));
            const A shift = (b ? b[ch] : A(0)) - mean * scale;
            const T* xc = xg + k * spatial;
            T* yc = yg + k * spatial;
            for (int64_t i = 0; i < spatial; ++i) yc[i] = T(A(xc[i]) * scale + shift);
          }
        }
      });
    }
  });
  return y;
}

}  // namespace

void register_norm_ops() {
  define_kernel("vt::layer_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, "
                "Tensor? bias=None, float eps=1e-05) -> Tensor",
                VT_DEVICE_CPU, &layer_norm_kernel);
  define_kernel("vt::rms_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, "
                "float? eps=None) -> Tensor",
                VT_DEVICE_CPU, &rms_norm_kernel);
  define_kernel("vt::group_norm(Tensor input, int num_groups, Tensor? weight=None, "
                "Tensor? bias=None, float eps=1e-05) -> Tensor",
                VT_DEVICE_CPU, &group_norm_kernel);
}

}  // namespace nn

Tensor layer_norm(const Tensor& input, IntArrayRef normalized_shape, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef, const std::optional<Tensor>&, const std::optional<Tensor>&, double)>
      op("vt::layer_norm");
  return op(input, normalized_shape, weight, bias, eps);
}
Tensor rms_norm(const Tensor& input, IntArrayRef normalized_shape, const std::optional<Tensor>& weight,
                std::optional<double> eps) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef, const std::optional<Tensor>&, std::optional<double>)>
      op("vt::rms_norm");
  return op(input, normalized_shape, weight, eps);
}
Tensor group_norm(const Tensor& input, int64_t num_groups, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  static const OpHandle<Tensor(const Tensor&, int64_t, const std::optional<Tensor>&, const std::optional<Tensor>&, double)>
      op("vt::group_norm");
  return op(input, num_groups, weight, bias, eps);
}

}  // namespace vt
