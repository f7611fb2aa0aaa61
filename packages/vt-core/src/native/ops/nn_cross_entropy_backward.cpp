// Fused backward of cross_entropy: each row of classes recomputes its softmax (the row is in
// cache; the forward keeps no log_softmax) and writes
//   class indices:       dx = gs * ((p - onehot(t)) * coef * (1 - ls) + valid * ls / C * (p * sum(w) - w))
//   class probabilities: dx = gs * (p * sum(w * t') - w * t'),  t' = t * (1 - ls) + ls / C
// with p = softmax(x), coef = w[t] (0 for an ignored target) and gs the incoming gradient of the
// row's loss (divided by the total weight or the row count for a mean).
#include <cmath>
#include <vector>

#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

// out[j] = softmax(x)[j] * scale - shift * (w ? w[j] : 1) over a row of compute-type values: the
// exponentials are stored by the pass that sums them, then scaled, one exp per element.
template <typename A>
void softmax_affine(const A* x, A scale, A shift, const A* w, A* out, int64_t c) {
  const A m = row_max(x, c);
  const A k = scale / row_sum_exp<true>(x, c, m, out);
  int64_t j = 0;
  if (w) for (; j < c; ++j) out[j] = out[j] * k - w[j] * shift;
  else for (; j < c; ++j) out[j] = out[j] * k - shift;
}

// Rows of T widened into buffers when T is a 16-bit float, so every pass runs on A.
template <typename T, typename RowFn>
void for_each_row(const T* x, const T* target_probs, T* dx, int64_t rows, int64_t c, RowFn row_fn) {
  using A = opmath_t<T>;
  constexpr bool kWiden = !std::is_same_v<T, A>;
  parallel_for(0, rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(c, 1)), [&](int64_t begin, int64_t end) {
    std::vector<A> buffers(kWiden ? size_t(3 * c) : 0);
    for (int64_t r = begin; r < end; ++r) {
      if constexpr (kWiden) {
        A *xr = buffers.data(), *tr = xr + c, *out = tr + c;
        widen(x + r * c, xr, c);
        if (target_probs) widen(target_probs + r * c, tr, c);
        row_fn(r, xr, target_probs ? tr : nullptr, out);
        narrow(out, dx + r * c, c);
      } else {
        row_fn(r, x + r * c, target_probs ? target_probs + r * c : nullptr, dx + r * c);
      }
    }
  });
}

// The incoming gradient of each row's loss: g[r] (reduction none) or the scalar g / denom.
struct RowGrad {
  const Tensor g;  // contiguous, double
  bool per_row;
  double denom;
  double at(int64_t r) const { return per_row ? g.data_as<double>()[r] : g.data_as<double>()[0] / denom; }
};

RowGrad row_grad(const Tensor& grad, int64_t rows, int64_t reduction, const char* op) {
  const bool none = reduction == int64_t(Reduction::None);
  VT_CHECK(grad.numel() == (none ? rows : 1), op, ": expected a gradient of ", none ? rows : 1,
           " elements for reduction ", reduction, " but got shape ", shape_string(grad.sizes()));
  return {contiguous(to_dtype(grad, ScalarType::Float64)), none, 1.0};
}

// dx laid out as the input: (n * s, c) rows back to (n, c, s), then the input's shape.
Tensor input_layout(const Tensor& rows, const Tensor& self, int64_t n, int64_t c, int64_t s) {
  if (s == 1) return reshape(rows, self.sizes());
  return reshape(contiguous(transpose(reshape(rows, DimVector{n, s, c}), 1, 2)), self.sizes());
}

Tensor backward_indices(const Tensor& grad, const Tensor& self, const Tensor& target,
                        const std::optional<Tensor>& weight, int64_t reduction, int64_t ignore_index,
                        double label_smoothing) {
  const char* op = "_cross_entropy_backward";
  const ClassTargets ct = check_class_targets(self, target, weight, op);
  const int64_t rows = ct.n * ct.s, c = ct.c;
  const Tensor x = class_rows(self, ct.n, c, ct.s);
  const Tensor t = contiguous(to_dtype(reshape(target, DimVector{rows}), ScalarType::Int64));
  const int64_t* tp = t.data_as<int64_t>();
  RowGrad gs = row_grad(grad, rows, reduction, op);
  const ScalarType acc = is_reduced_float(self.dtype()) ? ScalarType::Float32 : self.dtype();
  const Tensor w = param_as(weight, ScalarType::Float64);
  const double* wd = w.defined() ? w.data_as<double>() : nullptr;
  // Target weights (0 for ignored rows), checked once; a mean divides by their total.
  std::vector<double> coef(static_cast<size_t>(rows));
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t cls = tp[r];
    if (cls == ignore_index) continue;
    VT_CHECK_INDEX(cls >= 0 && cls < c, "Target ", cls, " is out of bounds.");
    total += coef[size_t(r)] = wd ? wd[cls] : 1.0;
  }
  if (reduction == int64_t(Reduction::Mean)) gs.denom = total;
  double weight_total = c;
  if (wd) {
    weight_total = 0;
    for (int64_t k = 0; k < c; ++k) weight_total += wd[k];
  }
  Tensor dx = Tensor::empty(x.sizes(), self.dtype(), self.device());
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const Tensor wa = param_as(weight, acc);
      const A* wp = wa.defined() ? wa.data_as<A>() : nullptr;
      const double ls = label_smoothing;
      for_each_row<T>(x.data_as<T>(), nullptr, dx.data_as<T>(), rows, c, [&](int64_t r, const A* xr, const A*, A* out) {
        const double g = gs.at(r);
        const bool valid = tp[r] != ignore_index;
        // dx = p * (hit + spread * sum(w)) - spread * w - hit * onehot(t)
        const double hit = g * coef[size_t(r)] * (1 - ls), spread = valid ? g * ls / double(c) : 0.0;
        softmax_affine<A>(xr, A(hit + spread * weight_total), A(spread), wp, out, c);
        if (valid) out[tp[r]] -= A(hit);
      });
    }
  });
  return input_layout(dx, self, ct.n, c, ct.s);
}

Tensor backward_probabilities(const Tensor& grad, const Tensor& self, const Tensor& target,
                              const std::optional<Tensor>& weight, int64_t reduction, double label_smoothing) {
  const char* op = "_cross_entropy_backward";
  VT_CHECK(is_floating(target.dtype()) && is_floating(self.dtype()), op,
           ": expected floating input and class-probability target, got ", dtype_name(self.dtype()), " and ",
           dtype_name(target.dtype()));
  const int64_t class_dim = self.dim() == 1 ? 0 : 1;
  ScalarType dt = promote_types(self.dtype(), target.dtype());
  if (weight && weight->defined()) {
    VT_CHECK(weight->numel() == self.sizes()[class_dim], op, ": expected a weight of ", self.sizes()[class_dim],
             " elements but got shape ", shape_string(weight->sizes()));
    dt = promote_types(dt, weight->dtype());
  }
  const int64_t n = class_dim == 0 ? 1 : self.sizes()[0], c = self.sizes()[class_dim];
  const int64_t s = c == 0 || n == 0 ? 1 : self.numel() / (n * c);
  const int64_t rows = n * s;
  const Tensor x = class_rows(self.dtype() == dt ? self : to_dtype(self, dt), n, c, s);
  const Tensor p = class_rows(target.dtype() == dt ? target : to_dtype(target, dt), n, c, s);
  RowGrad gs = row_grad(grad, rows, reduction, op);
  if (reduction == int64_t(Reduction::Mean)) gs.denom = double(rows);
  const ScalarType acc = is_reduced_float(dt) ? ScalarType::Float32 : dt;
  Tensor dx = Tensor::empty(x.sizes(), dt, self.device());
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const Tensor wa = param_as(weight, acc);
      const A* wp = wa.defined() ? wa.data_as<A>() : nullptr;
      const A keep = A(1) - A(label_smoothing), spread = A(label_smoothing) / A(c);
      for_each_row<T>(x.data_as<T>(), p.data_as<T>(), dx.data_as<T>(), rows, c, [&](int64_t r, const A* xr, const A* tr, A* out) {
        const A g = A(gs.at(r));
        A total = 0;
        for (int64_t k = 0; k < c; ++k) total += (wp ? wp[k] : A(1)) * (tr[k] * keep + spread);
        const A lse = row_log_sum_exp(xr, c);
        for (int64_t k = 0; k < c; ++k)
          out[k] = g * (exp_acc(A(xr[k] - lse)) * total - (wp ? wp[k] : A(1)) * (tr[k] * keep + spread));
      });
    }
  });
  const Tensor out = input_layout(dx, self, n, c, s);
  return out.dtype() == self.dtype() ? out : to_dtype(out, self.dtype());
}

Tensor cross_entropy_backward_kernel(const Tensor& grad, const Tensor& self, const Tensor& target,
                                     const std::optional<Tensor>& weight, int64_t reduction, int64_t ignore_index,
                                     double label_smoothing) {
  check_reduction(reduction, "_cross_entropy_backward");
  if (same_shape(self.sizes(), target.sizes()))
    return backward_probabilities(grad, self, target, weight, reduction, label_smoothing);
  return backward_indices(grad, self, target, weight, reduction, ignore_index, label_smoothing);
}

}  // namespace

void register_cross_entropy_backward_ops() {
  define_kernel("vt::_cross_entropy_backward(Tensor grad, Tensor self, Tensor target, Tensor? weight, "
                "int reduction, int ignore_index, float label_smoothing) -> Tensor",
                VT_DEVICE_CPU, &cross_entropy_backward_kernel);
}

}  // namespace nn
}  // namespace vt
