// nll_loss: the negative log-likelihood of class-index targets, a gather over the class dim;
// and the shape checks it shares with cross_entropy.
#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {

ClassTargets check_class_targets(const Tensor& input, const Tensor& target,
                                 const std::optional<Tensor>& weight, const char* op) {
  VT_CHECK_VALUE(input.dim() >= 1, "Expected 1 or more dimensions (got ", input.dim(), ")");
  // torch reports a 0-dim target's batch size as 0.
  const int64_t target_batch = target.dim() == 0 ? 0 : target.sizes()[0];
  VT_CHECK_VALUE(input.dim() == 1 || input.sizes()[0] == target_batch,
                 "Expected input batch_size (", input.sizes()[0], ") to match target batch_size (",
                 target_batch, ").");
  ClassTargets ct;
  if (input.dim() <= 2) {
    VT_CHECK(target.dim() <= 1, "0D or 1D target tensor expected, multi-target not supported");
    if (input.dim() == 1) {
      VT_CHECK_VALUE(target.dim() == 0 || target.sizes()[0] == 1,
                     "For 1D input, 1D target must have size 1, but got target size: ",
                     target.sizes()[0]);
      ct.c = input.sizes()[0];
    } else {
      ct.n = input.sizes()[0];
      ct.c = input.sizes()[1];
      ct.out_shape = {ct.n};
    }
  } else {
    ct.n = input.sizes()[0];
    ct.c = input.sizes()[1];
    ct.out_shape = {ct.n};
    for (int64_t d = 2; d < input.dim(); ++d) {
      ct.s *= input.sizes()[d];
      ct.out_shape.push_back(input.sizes()[d]);
    }
    VT_CHECK(same_shape(target.sizes(), ct.out_shape), "Expected target size ",
             shape_string(ct.out_shape), ", got ", shape_string(target.sizes()));
  }
  if (weight && weight->defined()) {
    VT_CHECK(weight->numel() == ct.c, "weight tensor should be defined either for all ", ct.c,
             " classes or no classes but got weight tensor of shape: ",
             shape_string(weight->sizes()));
    VT_CHECK(weight->dtype() == input.dtype(), op, ": expected weight of dtype ",
             dtype_name(input.dtype()), " (the input's) but found ", dtype_name(weight->dtype()));
  }
  VT_CHECK(target.dtype() == ScalarType::Int64 || target.dtype() == ScalarType::UInt8,
           "expected target dtype to be int64 or uint8, but got ", dtype_name(target.dtype()));
  if (!is_floating(input.dtype())) raise_dtype_not_implemented(op, input.dtype());
  return ct;
}

namespace {

Tensor nll_loss_kernel(const Tensor& self, const Tensor& target,
                       const std::optional<Tensor>& weight, int64_t reduction,
                       int64_t ignore_index) {
  check_reduction(reduction, "nll_loss");
  const ClassTargets ct = check_class_targets(self, target, weight, "nll_loss");
  // A view when the layout allows: only n * s of the n * c * s elements are read.
  const Tensor x = reshape(self, DimVector{ct.n, ct.c, ct.s});
  const Tensor t = contiguous(reshape(target, DimVector{ct.n * ct.s}));
  const int64_t positions = ct.n * ct.s;
  const bool none = reduction == int64_t(Reduction::None);
  Tensor out = Tensor::empty(none ? IntArrayRef(ct.out_shape) : IntArrayRef(), self.dtype(), self.device());
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const Tensor w = param_as(weight, self.dtype());
      const T* wp = w.defined() ? w.data_as<T>() : nullptr;
      const T* xp = x.data_as<T>();
      const int64_t sn = x.strides()[0], sc = x.strides()[1], ss = x.strides()[2];
      visit_dtype(t.dtype(), [&](auto target_tag) {
        using I = decltype(target_tag);
        if constexpr (std::is_same_v<I, int64_t> || std::is_same_v<I, uint8_t>) {
          const I* tp = t.data_as<I>();
          // loss and weight of one position; ignored positions count as neither.
          auto at = [&](int64_t p, A& wt) -> A {
            const int64_t cls = int64_t(tp[p]);
            if (cls == ignore_index) return wt = A(0);
            VT_CHECK_INDEX(cls >= 0 && cls < ct.c, "Target ", cls, " is out of bounds.");
            wt = wp ? A(wp[cls]) : A(1);
            return -wt * A(xp[(p / ct.s) * sn + cls * sc + (p % ct.s) * ss]);
          };
          if (none) {
            T* op = out.data_as<T>();
            parallel_for(0, positions, kGrainSize, [&](int64_t b, int64_t e) {
              A wt;
              for (int64_t p = b; p < e; ++p) op[p] = T(at(p, wt));
            });
            return;
          }
          auto total = parallel_sum<2>(positions, kGrainSize, [&](int64_t b, int64_t e) {
            std::array<double, 2> acc{};
            A wt;
            for (int64_t p = b; p < e; ++p) {
              acc[0] += double(at(p, wt));
              acc[1] += double(wt);
            }
            return acc;
          });
          const double value = reduction == int64_t(Reduction::Sum) ? total[0] : total[0] / total[1];
          out.data_as<T>()[0] = T(A(value));
        }
      });
    }
  });
  return out;
}

}  // namespace

void register_nll_ops() {
  define_kernel("vt::nll_loss(Tensor self, Tensor target, Tensor? weight=None, int reduction=1, "
                "int ignore_index=-100) -> Tensor",
                VT_DEVICE_CPU, &nll_loss_kernel);
}

}  // namespace nn

Tensor nll_loss(const Tensor& self, const Tensor& target, const std::optional<Tensor>& weight,
                int64_t reduction, int64_t ignore_index) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, const std::optional<Tensor>&, int64_t, int64_t)>
      op("vt::nll_loss");
  return op(self, target, weight, reduction, ignore_index);
}

}  // namespace vt
