// norm (torch.norm's vector norms: p = 2, 1, inf, -inf, 0 or any float) and logsumexp.
#include <cmath>

#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/ops.h"
#include "ops/reduce_impl.h"

namespace vt::reduce {
namespace {

enum class NormKind { Two, One, Inf, NegInf, Zero, Power };

// Sums accumulate like sum(); inf norms stay in the opmath type.
template <class T, NormKind K>
struct NormOp {
  using A = std::conditional_t<K == NormKind::Inf || K == NormKind::NegInf, opmath_t<T>, sum_acc_t<T>>;
  static constexpr bool kVector = K != NormKind::Power;  // pow has no vector form
  A p = 2;
  A identity() const { return K == NormKind::NegInf ? A(INFINITY) : A(0); }
  template <class V>
  auto map(V x, auto) const {
    auto a = vabs(cvt<A>(x));
    using VA = decltype(a);
    if constexpr (K == NormKind::Two) return a * a;
    else if constexpr (K == NormKind::Zero) return mask01<A>(a != splat<VA>(0));  // nan counts
    else if constexpr (K == NormKind::Power) return A(std::pow(a, p));
    else return a;
  }
  auto combine(auto a, auto b) const {
    if constexpr (K == NormKind::Inf) return pick_extreme<true>(a, b);
    else if constexpr (K == NormKind::NegInf) return pick_extreme<false>(a, b);
    else return a + b;
  }
  A finish(A a, int64_t) const {
    if constexpr (K == NormKind::Two) return std::sqrt(a);
    else if constexpr (K == NormKind::Power) return std::pow(a, A(1) / p);
    else return a;
  }
};

template <class T, NormKind K>
void run_norm(const ReducePlan& plan, const Tensor& out, double p) {
  using Op = NormOp<T, K>;
  run(plan, FoldReducer<T, T, Op>{Op{typename Op::A(p)}, out.data_as<T>()});
}

Tensor norm_kernel(const Tensor& self, const std::optional<Scalar>& p_opt,
                   std::optional<IntArrayRef> dim, bool keepdim, std::optional<ScalarType> dtype) {
  const char* op = "linalg.vector_norm";
  VT_CHECK(is_floating(self.dtype()), op,
           ": Expected a floating point or complex tensor as input. Got ", dtype_name(self.dtype()));
  if (dtype) {
    VT_CHECK(is_floating(*dtype), op, ": dtype should be floating point or complex, but got ",
             dtype_name(*dtype));
    VT_CHECK(promote_types(self.dtype(), *dtype) == *dtype, op, ": the dtype of the input (",
             dtype_name(self.dtype()), ") should be convertible without narrowing to the "
             "specified dtype (", dtype_name(*dtype), ")");
  }
  const Tensor input = dtype && *dtype != self.dtype() ? to_dtype(self, *dtype) : self;
  const double p = p_opt ? p_opt->to_double() : 2.0;
  DimVector dims = reduction_dims(input, dim, "norm");
  if (std::isinf(p)) {
    VT_CHECK(input.numel() > 0 || (dim && !dim->empty()), op,
             " cannot compute the ", p > 0 ? "" : "-", "inf norm on an empty tensor because the "
             "operation does not have an identity");
    for (int64_t d : dims)
      VT_CHECK(input.sizes()[d] != 0, op, " cannot compute the ", p > 0 ? "" : "-",
               "inf norm on the dimension ", d, " because this dimension is empty and the "
               "operation does not have an identity");
  }
  ReducePlan plan = make_plan(input, dims, keepdim);
  Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
  visit_dtype(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<opmath_t<T>>) {
      if (p == 2) run_norm<T, NormKind::Two>(plan, out, p);
      else if (p == 1) run_norm<T, NormKind::One>(plan, out, p);
      else if (p == 0) run_norm<T, NormKind::Zero>(plan, out, p);
      else if (p == INFINITY) run_norm<T, NormKind::Inf>(plan, out, p);
      else if (p == -INFINITY) run_norm<T, NormKind::NegInf>(plan, out, p);
      else run_norm<T, NormKind::Power>(plan, out, p);
    }
  });
  return out;
}

// Second pass of logsumexp: sum of exp(x - shift[o]), then shift + log(sum).
template <class T>
struct ShiftedExpOp {
  using M = opmath_t<T>;
  using Param = M;
  // exp_vec is float-only. Runs sum eight float lanes at a time, flushed into double.
  static constexpr bool kVector = std::is_same_v<M, float>;
  using Lane = M;
  const M* param;
  double identity() const { return 0.0; }
  auto map(auto x, auto shift) const {
    if constexpr (std::is_same_v<M, float>) return exp_vec(cvt<float>(x) - shift);
    else return std::exp(cvt<M>(x) - shift);
  }
  auto combine(auto a, auto b) const { return a + b; }
  M finish(double a, int64_t o) const { return param[o] + M(std::log(a)); }
};

template <class T>
struct MaxShiftOp {
  using M = opmath_t<T>;
  M identity() const { return -INFINITY; }
  auto map(auto x, auto) const { return cvt<M>(x); }
  auto combine(auto a, auto b) const { return pick_extreme<true>(a, b); }
  M finish(M a, int64_t) const { return std::isinf(a) ? M(0) : a; }
};

Tensor logsumexp_kernel(const Tensor& self, IntArrayRef dim, bool keepdim) {
  // Integers and bool compute in the default float dtype, as in torch.
  const Tensor input = is_floating(self.dtype()) ? self : to_dtype(self, default_float_dtype());
  DimVector dims = reduction_dims(input, dim, "logsumexp");
  ReducePlan plan = make_plan(input, dims, keepdim);
  Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
  visit_dtype(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    if constexpr (std::is_floating_point_v<M>) {
      // First pass: the max of each slice; an infinite max shifts by 0 instead, so all -inf
      // gives -inf and any +inf gives +inf rather than nan.
      Tensor shift = Tensor::empty(DimVector{plan.out_numel},
                                   sizeof(M) == 4 ? ScalarType::Float32 : ScalarType::Float64,
                                   input.device());
      M* s = shift.data_as<M>();
      run(plan, FoldReducer<T, M, MaxShiftOp<T>>{{}, s});
      run(plan, FoldReducer<T, T, ShiftedExpOp<T>>{{s}, out.data_as<T>()});
    }
  });
  return out;
}

}  // namespace

void register_norm_ops() {
  define_kernel("vt::norm(Tensor self, Scalar? p=2, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &norm_kernel);
  define_kernel("vt::logsumexp(Tensor self, int[] dim, bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &logsumexp_kernel);
}

}  // namespace vt::reduce
