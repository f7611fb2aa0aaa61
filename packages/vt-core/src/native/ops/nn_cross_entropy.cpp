// cross_entropy fused over rows of classes: each row's log-sum-exp comes from one max pass and
// one exp-sum pass, and the loss is read off it without materializing log_softmax. Targets
// are class indices (with ignore_index, weight, label smoothing) or class probabilities.
#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {

Tensor class_rows(const Tensor& t, int64_t n, int64_t c, int64_t s) {
  if (s == 1) return contiguous(reshape(t, DimVector{n, c}));
  return contiguous(transpose(reshape(t, DimVector{n, c, s}), 1, 2));
}

namespace {

// sum(x) or sum(w * x) over a contiguous row, in independent lanes.
template <typename T, typename W, typename A = opmath_t<T>>
A row_dot(const T* x, const W* w, int64_t n) {
  A lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += A(x[i + l]) * (w ? A(w[i + l]) : A(1));
  A s = 0;
  for (A l : lanes) s += l;
  for (; i < n; ++i) s += A(x[i]) * (w ? A(w[i]) : A(1));
  return s;
}

// Runs row_loss(r, weight_out) over every row: stores it (reduction none) or reduces it.
template <typename T, typename RowLoss>
void run_rows(Tensor& out, int64_t rows, int64_t cols, int64_t reduction, bool weighted_mean,
              RowLoss row_loss) {
  using A = opmath_t<T>;
  const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(cols, 1));
  if (reduction == int64_t(Reduction::None)) {
    T* op = out.data_as<T>();
    parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      A wt;
      for (int64_t r = b; r < e; ++r) op[r] = T(row_loss(r, wt));
    });
    return;
  }
  auto total = parallel_sum<2>(rows, grain, [&](int64_t b, int64_t e) {
    std::array<double, 2> acc{};
    A wt;
    for (int64_t r = b; r < e; ++r) {
      acc[0] += double(row_loss(r, wt));
      acc[1] += double(wt);
    }
    return acc;
  });
  const double denom = weighted_mean ? total[1] : double(rows);
  const double value = reduction == int64_t(Reduction::Sum) ? total[0] : total[0] / denom;
  out.data_as<T>()[0] = T(A(value));
}

Tensor cross_entropy_indices(const Tensor& self, const Tensor& target,
                             const std::optional<Tensor>& weight, int64_t reduction,
                             int64_t ignore_index, double label_smoothing) {
  const ClassTargets ct = check_class_targets(self, target, weight, "cross_entropy");
  const Tensor x = class_rows(self, ct.n, ct.c, ct.s);
  const Tensor t = contiguous(reshape(target, DimVector{ct.n * ct.s}));
  const bool none = reduction == int64_t(Reduction::None);
  Tensor out = Tensor::empty(none ? IntArrayRef(ct.out_shape) : IntArrayRef(), self.dtype(), self.device());
  const int64_t c = ct.c;
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const Tensor w = param_as(weight, self.dtype());
      const T* wp = w.defined() ? w.data_as<T>() : nullptr;
      const T* xp = x.data_as<T>();
      const A eps = A(label_smoothing);
      // sum_c w[c] * (lse - x[c]) = lse * sum(w) - sum(w * x): the smoothing term per row.
      const A weight_total = wp ? row_dot(wp, static_cast<const T*>(nullptr), c) : A(c);
      visit_dtype(t.dtype(), [&](auto target_tag) {
        using I = decltype(target_tag);
        if constexpr (std::is_same_v<I, int64_t> || std::is_same_v<I, uint8_t>) {
          const I* tp = t.data_as<I>();
          run_rows<T>(out, ct.n * ct.s, c, reduction, true, [&](int64_t r, A& wt) -> A {
            const int64_t cls = int64_t(tp[r]);
            if (cls == ignore_index) return wt = A(0);
            VT_CHECK_INDEX(cls >= 0 && cls < c, "Target ", cls, " is out of bounds.");
            const T* xr = xp + r * c;
            const A lse = row_log_sum_exp(xr, c);
            wt = wp ? A(wp[cls]) : A(1);
            A loss = wt * (lse - A(xr[cls]));
            if (eps > A(0)) {
              const A smooth = lse * weight_total - row_dot(xr, wp, c);
              loss = (A(1) - eps) * loss + eps / A(c) * smooth;
            }
            return loss;
          });
        }
      });
    }
  });
  return out;
}

Tensor cross_entropy_probabilities(const Tensor& self, const Tensor& target,
                                   const std::optional<Tensor>& weight, int64_t reduction,
                                   int64_t ignore_index, double label_smoothing) {
  VT_CHECK(is_floating(target.dtype()),
           "Expected floating point type for target with class probabilities, got ",
           dtype_name(target.dtype()));
  VT_CHECK(ignore_index < 0, "ignore_index is not supported for floating point target");
  // Classes are dim 1, or dim 0 of an unbatched 1-D input (a 0-dim input has no class dim).
  const int64_t class_dim = self.dim() == 1 ? 0 : wrap_dim(1, self.dim(), "cross_entropy");
  if (!is_floating(self.dtype())) raise_dtype_not_implemented("cross_entropy", self.dtype());
  ScalarType dt = promote_types(self.dtype(), target.dtype());
  if (weight && weight->defined()) {
    VT_CHECK(weight->numel() == self.sizes()[class_dim], "weight tensor should be defined either for all ",
             self.sizes()[class_dim], " classes or no classes but got weight tensor of shape: ",
             shape_string(weight->sizes()));
    dt = promote_types(dt, weight->dtype());
  }
  const int64_t n = class_dim == 0 ? 1 : self.sizes()[0], c = self.sizes()[class_dim];
  int64_t s = 1;
  for (int64_t d = class_dim + 1; d < self.dim(); ++d) s *= self.sizes()[d];
  DimVector out_shape;
  for (int64_t d = 0; d < self.dim(); ++d)
    if (d != class_dim) out_shape.push_back(self.sizes()[d]);
  const Tensor x = class_rows(self.dtype() == dt ? self : to_dtype(self, dt), n, c, s);
  const Tensor p = class_rows(target.dtype() == dt ? target : to_dtype(target, dt), n, c, s);
  const bool none = reduction == int64_t(Reduction::None);
  Tensor out = Tensor::empty(none ? IntArrayRef(out_shape) : IntArrayRef(), dt, self.device());
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const Tensor w = param_as(weight, dt);
      const T* wp = w.defined() ? w.data_as<T>() : nullptr;
      const T *xp = x.data_as<T>(), *pp = p.data_as<T>();
      const A keep = A(1) - A(label_smoothing), spread = A(label_smoothing) / A(c);
      run_rows<T>(out, n * s, c, reduction, false, [&](int64_t r, A& wt) -> A {
        const T *xr = xp + r * c, *pr = pp + r * c;
        const A lse = row_log_sum_exp(xr, c);
        A loss = 0;
        for (int64_t k = 0; k < c; ++k)
          loss += (wp ? A(wp[k]) : A(1)) * (A(pr[k]) * keep + spread) * (lse - A(xr[k]));
        wt = A(1);
        return loss;
      });
    }
  });
  return out;
}

Tensor cross_entropy_kernel(const Tensor& self, const Tensor& target,
                            const std::optional<Tensor>& weight, int64_t reduction,
                            int64_t ignore_index, double label_smoothing) {
  check_reduction(reduction, "cross_entropy");
  VT_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
           "label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing);
  // As in torch, a target of the input's shape holds class probabilities.
  if (same_shape(self.sizes(), target.sizes()))
    return cross_entropy_probabilities(self, target, weight, reduction, ignore_index, label_smoothing);
  return cross_entropy_indices(self, target, weight, reduction, ignore_index, label_smoothing);
}

}  // namespace

void register_cross_entropy_ops() {
  define_kernel("vt::cross_entropy_loss(Tensor self, Tensor target, Tensor? weight=None, "
                "int reduction=1, int ignore_index=-100, float label_smoothing=0.0) -> Tensor",
                VT_DEVICE_CPU, &cross_entropy_kernel);
}

}  // namespace nn

Tensor cross_entropy(const Tensor& self, const Tensor& target, const std::optional<Tensor>& weight,
                     int64_t reduction, int64_t ignore_index, double label_smoothing) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, const std::optional<Tensor>&, int64_t, int64_t, double)>
      op("vt::cross_entropy_loss");
  return op(self, target, weight, reduction, ignore_index, label_smoothing);
}

}  // namespace vt
