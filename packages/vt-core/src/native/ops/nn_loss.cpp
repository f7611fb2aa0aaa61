// Elementwise losses: mse, l1, binary cross-entropy (on probabilities and on logits). The
// per-element loss is one fused loop over the broadcast operands; the reduction is vt's sum or
// mean, which accumulate wider than the element type.
#include <cmath>

#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/loops.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

Tensor reduce_loss(const Tensor& loss, int64_t reduction) {
  if (reduction == int64_t(Reduction::Sum)) return sum(loss);
  if (reduction == int64_t(Reduction::Mean)) return mean(loss);
  return loss;
}

template <typename Make>
Tensor distance_loss(const char* name, const Tensor& self, const Tensor& target, int64_t reduction,
                     bool integers, Make make) {
  check_reduction(reduction, name);
  IterConfig c;
  c.op_name = name;
  c.outputs = {Tensor()};
  c.inputs = {self, target};
  TensorIterator it(std::move(c));
  const ScalarType dt = it.compute_dtype();
  VT_CHECK(dt != ScalarType::Bool,
           "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
           "`logical_xor()` operator instead.");
  if (!integers && !is_floating(dt)) raise_dtype_not_implemented(name, dt);
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) binary_loop<T>(it, make(tag));
  });
  return reduce_loss(it.output(), reduction);
}

Tensor mse_loss_kernel(const Tensor& self, const Tensor& target, int64_t reduction) {
  return distance_loss("mse_loss", self, target, reduction, false, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M a, M b) -> M { return M((a - b) * (a - b)); };
  });
}

Tensor l1_loss_kernel(const Tensor& self, const Tensor& target, int64_t reduction) {
  return distance_loss("l1_loss", self, target, reduction, true, [](auto tag) {
    using M = opmath_t<decltype(tag)>;
    return [](M a, M b) -> M {
      M d = M(a - b);
      if constexpr (std::is_unsigned_v<M>) return d;
      else return d < M(0) ? M(-d) : d;
    };
  });
}

// Runs f(x, t, w, pw) -> loss over same-shaped operands in dtype dt; absent operands read 1.
template <typename F>
Tensor binary_loss_loop(const char* name, ScalarType dt, const Tensor& x, const Tensor& t,
                        const Tensor& w, const Tensor& pw, F f) {
  const Tensor one = full(IntArrayRef(), Scalar(1.0), dt);
  IterConfig c;
  c.op_name = name;
  c.outputs = {Tensor()};
  c.inputs = {x, t, w.defined() ? expand(w, x.sizes()) : one, pw.defined() ? expand(pw, x.sizes()) : one};
  c.compute_dtype = dt;
  TensorIterator it(std::move(c));
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      it.for_each([&](char** data, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          auto in = [&](int k) { return A(*reinterpret_cast<const T*>(data[k] + i * s[k])); };
          *reinterpret_cast<T*>(data[0] + i * s[0]) = T(f(in(1), in(2), in(3), in(4)));
        }
      }, kGrainSize);
    }
  });
  return it.output();
}

Tensor binary_cross_entropy_kernel(const Tensor& self, const Tensor& target,
                                   const std::optional<Tensor>& weight, int64_t reduction) {
  check_reduction(reduction, "binary_cross_entropy");
  VT_CHECK_VALUE(same_shape(self.sizes(), target.sizes()), "Using a target size (",
                 shape_string(target.sizes()), ") that is different to the input size (",
                 shape_string(self.sizes()), ") is deprecated. Please ensure they have the same size.");
  if (!is_floating(self.dtype())) raise_dtype_not_implemented("binary_cross_entropy", self.dtype());
  VT_CHECK(target.dtype() == self.dtype(), "binary_cross_entropy: found target dtype ",
           dtype_name(target.dtype()), " but expected ", dtype_name(self.dtype()), " (the input's)");
  const Tensor w = weight && weight->defined() ? *weight : Tensor();
  Tensor loss = binary_loss_loop("binary_cross_entropy", self.dtype(), self, target, w, Tensor(),
                                 [](auto x, auto t, auto wt, auto) {
    using A = decltype(x);
    VT_CHECK(x >= A(0) && x <= A(1), "all elements of input should be between 0 and 1");
    // torch clamps the logs at -100 so a saturated input gives a finite loss.
    const A log_x = std::max(std::log(x), A(-100)), log_1mx = std::max(std::log1p(-x), A(-100));
    return wt * ((t - A(1)) * log_1mx - t * log_x);
  });
  return reduce_loss(loss, reduction);
}

Tensor binary_cross_entropy_with_logits_kernel(const Tensor& self, const Tensor& target,
                                               const std::optional<Tensor>& weight,
                                               const std::optional<Tensor>& pos_weight,
                                               int64_t reduction) {
  check_reduction(reduction, "binary_cross_entropy_with_logits");
  VT_CHECK_VALUE(same_shape(self.sizes(), target.sizes()), "Target size (",
                 shape_string(target.sizes()), ") must be the same as input size (",
                 shape_string(self.sizes()), ")");
  if (!is_floating(self.dtype()))
    raise_dtype_not_implemented("binary_cross_entropy_with_logits", self.dtype());
  // torch's composite accumulates into a tensor of the target's dtype.
  VT_CHECK(is_floating(target.dtype()), "binary_cross_entropy_with_logits: result type ",
           dtype_name(self.dtype()), " can't be cast to the desired output type ",
           dtype_name(target.dtype()));
  const ScalarType dt = promote_types(self.dtype(), target.dtype());
  const Tensor w = weight && weight->defined() ? *weight : Tensor();
  const Tensor pw = pos_weight && pos_weight->defined() ? *pos_weight : Tensor();
  Tensor loss = binary_loss_loop("binary_cross_entropy_with_logits", dt, self, target, w, pw,
                                 [](auto x, auto t, auto wt, auto pwt) {
    using A = decltype(x);
    // softplus(-x) = log1p(exp(-|x|)) + max(-x, 0): no overflow for any x.
    const A softplus_neg = std::log1p(std::exp(-std::abs(x))) + std::max(-x, A(0));
    return wt * ((A(1) - t) * x + (A(1) + (pwt - A(1)) * t) * softplus_neg);
  });
  if (loss.dtype() != target.dtype()) loss = to_dtype(loss, target.dtype());
  return reduce_loss(loss, reduction);
}

}  // namespace

void register_loss_ops() {
  define_kernel("vt::mse_loss(Tensor self, Tensor target, int reduction=1) -> Tensor",
                VT_DEVICE_CPU, &mse_loss_kernel);
  define_kernel("vt::l1_loss(Tensor self, Tensor target, int reduction=1) -> Tensor",
                VT_DEVICE_CPU, &l1_loss_kernel);
  define_kernel("vt::binary_cross_entropy(Tensor self, Tensor target, Tensor? weight=None, "
                "int reduction=1) -> Tensor",
                VT_DEVICE_CPU, &binary_cross_entropy_kernel);
  define_kernel("vt::binary_cross_entropy_with_logits(Tensor self, Tensor target, "
                "Tensor? weight=None, Tensor? pos_weight=None, int reduction=1) -> Tensor",
                VT_DEVICE_CPU, &binary_cross_entropy_with_logits_kernel);
}

}  // namespace nn

Tensor mse_loss(const Tensor& self, const Tensor& target, int64_t reduction) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, int64_t)> op("vt::mse_loss");
  return op(self, target, reduction);
}
Tensor l1_loss(const Tensor& self, const Tensor& target, int64_t reduction) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, int64_t)> op("vt::l1_loss");
  return op(self, target, reduction);
}
Tensor binary_cross_entropy(const Tensor& self, const Tensor& target,
                            const std::optional<Tensor>& weight, int64_t reduction) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, const std::optional<Tensor>&, int64_t)>
      op("vt::binary_cross_entropy");
  return op(self, target, weight, reduction);
}
Tensor binary_cross_entropy_with_logits(const Tensor& self, const Tensor& target,
                                        const std::optional<Tensor>& weight,
                                        const std::optional<Tensor>& pos_weight, int64_t reduction) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, const std::optional<Tensor>&, const std::optional<Tensor>&, int64_t)>
      op("vt::binary_cross_entropy_with_logits");
  return op(self, target, weight, pos_weight, reduction);
}

}  // namespace vt
