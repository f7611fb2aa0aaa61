// Fused backward of layer_norm and rms_norm: one task per chunk of rows recomputes each row's
// statistics (the row is in cache, and the forward op keeps no mean/rstd output), writes the
// input's gradient and sums the weight and bias gradients of its rows into a buffer of its own;
// the buffers are added in chunk order, so results do not depend on the thread count.
#include <cmath>
#include <vector>

#include "dispatch/dispatcher.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

// Where one call's rows go: dx (input gradient) and per-chunk sums dw, db (any may be null).
template <typename T, typename A>
struct NormGrads {
  T* dx;
  A* dw;
  A* db;
};

// Rows [lo, hi) of n elements. kCentered: layer_norm (x - mean); otherwise rms_norm (x).
// With xhat = (x - mean) * rstd and gw = g * w: dx = rstd * (gw - (sum(gw) + xhat * sum(gw * xhat)) / n),
// where rms_norm drops the sum(gw) term; dw += g * xhat, db += g.
template <bool kCentered, typename T, typename A>
void norm_backward_rows(const T* g, const T* x, const A* w, int64_t lo, int64_t hi, int64_t n, A eps,
                        NormGrads<T, A> out) {
  for (int64_t r = lo; r < hi; ++r) {
    const T* gr = g + r * n;
    const T* xr = x + r * n;
    const A mean = kCentered ? row_sum(xr, n) / A(n) : A(0);
    const A rstd = A(1) / std::sqrt(row_sum_sq(xr, n, mean) / A(n) + eps);
    if (out.dx) {
      A dot_lanes[kLanes] = {}, sum_lanes[kLanes] = {};
      int64_t i = 0;
      for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l) {
          const A gw = A(gr[i + l]) * (w ? w[i + l] : A(1));
          dot_lanes[l] += gw * (A(xr[i + l]) - mean);
          sum_lanes[l] += gw;
        }
      A dot = 0, sum = 0;
      for (int l = 0; l < kLanes; ++l) dot += dot_lanes[l], sum += sum_lanes[l];
      for (; i < n; ++i) {
        const A gw = A(gr[i]) * (w ? w[i] : A(1));
        dot += gw * (A(xr[i]) - mean);
        sum += gw;
      }
      // dx = rstd * gw - (x - mean) * rstd^3 * dot / n - rstd * sum / n.
      const A c_centered = rstd * rstd * rstd * dot / A(n);
      const A c_const = kCentered ? rstd * sum / A(n) : A(0);
      T* dxr = out.dx + r * n;
      for (int64_t j = 0; j < n; ++j) {
        const A gw = A(gr[j]) * (w ? w[j] : A(1));
        dxr[j] = T(rstd * gw - (A(xr[j]) - mean) * c_centered - c_const);
      }
    }
    if (out.dw)
      for (int64_t j = 0; j < n; ++j) out.dw[j] += A(gr[j]) * ((A(xr[j]) - mean) * rstd);
    if (out.db)
      for (int64_t j = 0; j < n; ++j) out.db[j] += A(gr[j]);
  }
}

// Checks shared by both ops; returns the row length (the normalized numel).
int64_t check_norm_backward(const char* op, const Tensor& grad, const Tensor& input, IntArrayRef normalized_shape,
                            std::initializer_list<const std::optional<Tensor>*> params) {
  VT_CHECK(same_shape(grad.sizes(), input.sizes()), op, ": expected grad_out of the input's shape ",
           shape_string(input.sizes()), " but got ", shape_string(grad.sizes()));
  const int64_t k = int64_t(normalized_shape.size());
  bool ok = k >= 1 && input.dim() >= k;
  for (int64_t d = 0; ok && d < k; ++d) ok = input.sizes()[input.dim() - k + d] == normalized_shape[d];
  VT_CHECK(ok, op, ": normalized_shape ", shape_string(normalized_shape), " does not match the trailing dims "
           "of input of shape ", shape_string(input.sizes()));
  for (const auto* p : params)
    VT_CHECK(!*p || !(*p)->defined() || same_shape((*p)->sizes(), normalized_shape), op,
             ": expected parameters of shape ", shape_string(normalized_shape), " but got ",
             shape_string((*p)->sizes()));
  if (!is_floating(input.dtype())) raise_dtype_not_implemented(op, input.dtype());
  return compute_numel(normalized_shape);
}

// Runs the rows in fixed chunks; returns the gradients asked for, in the order dx, dw (only with a
// weight), db. dw and db are in the compute type: float32 for 16-bit inputs.
template <bool kCentered>
std::vector<Tensor> norm_backward(const char* op, const Tensor& grad_out, const Tensor& input,
                                                 IntArrayRef normalized_shape, const std::optional<Tensor>& weight,
                                                 double eps, bool input_grad, bool weight_grad, bool bias_grad) {
  const int64_t n = check_norm_backward(op, grad_out, input, normalized_shape, {&weight});
  weight_grad = weight_grad && weight && weight->defined();
  const ScalarType acc = is_reduced_float(input.dtype()) ? ScalarType::Float32 : input.dtype();
  const Tensor x = contiguous(input);
  const Tensor g = contiguous(grad_out.dtype() == x.dtype() ? grad_out : to_dtype(grad_out, x.dtype()));
  const Tensor w = param_as(weight, acc);
  Tensor dx = input_grad ? Tensor::empty(x.sizes(), x.dtype(), x.device()) : Tensor();
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const int64_t chunk = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1));
  const int64_t chunks = (rows + chunk - 1) / chunk;
  // Per-chunk partial sums of dw and db, in the compute type.
  Tensor partial_w = weight_grad ? zeros(DimVector{std::max<int64_t>(chunks, 1), n}, acc, x.device()) : Tensor();
  Tensor partial_b = bias_grad ? zeros(DimVector{std::max<int64_t>(chunks, 1), n}, acc, x.device()) : Tensor();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const T *gp = g.data_as<T>(), *xp = x.data_as<T>();
      const A* wp = w.defined() ? w.data_as<A>() : nullptr;
      T* dxp = dx.defined() ? dx.data_as<T>() : nullptr;
      A* pw = partial_w.defined() ? partial_w.data_as<A>() : nullptr;
      A* pb = partial_b.defined() ? partial_b.data_as<A>() : nullptr;
      parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c)
          norm_backward_rows<kCentered>(gp, xp, wp, c * chunk, std::min(rows, (c + 1) * chunk), n, A(eps),
                                        NormGrads<T, A>{dxp, pw ? pw + c * n : nullptr, pb ? pb + c * n : nullptr});
      });
    }
  });
  auto total = [&](const Tensor& partial) { return reshape(sum(partial, DimVector{0}, false), normalized_shape); };
  std::vector<Tensor> grads;
  if (input_grad) grads.push_back(dx);
  if (weight_grad) grads.push_back(total(partial_w));
  if (bias_grad) grads.push_back(total(partial_b));
  return grads;
}

std::vector<Tensor> layer_norm_backward_kernel(
    const Tensor& grad_out, const Tensor& input, IntArrayRef normalized_shape, const std::optional<Tensor>& weight,
    double eps, bool input_grad, bool weight_grad, bool bias_grad) {
  return norm_backward<true>("_layer_norm_backward", grad_out, input, normalized_shape, weight, eps, input_grad,
                             weight_grad, bias_grad);
}

std::vector<Tensor> rms_norm_backward_kernel(const Tensor& grad_out, const Tensor& input, IntArrayRef normalized_shape,
                                             const std::optional<Tensor>& weight, double eps, bool input_grad,
                                             bool weight_grad) {
  return norm_backward<false>("_rms_norm_backward", grad_out, input, normalized_shape, weight, eps, input_grad,
                              weight_grad, false);
}

}  // namespace

void register_norm_backward_ops() {
  define_kernel("vt::_layer_norm_backward(Tensor grad_out, Tensor input, int[] normalized_shape, Tensor? weight, "
                "float eps, bool input_grad=True, bool weight_grad=True, bool bias_grad=True) -> Tensor[]",
                VT_DEVICE_CPU, &layer_norm_backward_kernel);
  define_kernel("vt::_rms_norm_backward(Tensor grad_out, Tensor input, int[] normalized_shape, Tensor? weight, "
                "float eps, bool input_grad=True, bool weight_grad=True) -> Tensor[]",
                VT_DEVICE_CPU, &rms_norm_backward_kernel);
}

}  // namespace nn
}  // namespace vt
