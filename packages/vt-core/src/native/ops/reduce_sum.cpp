// sum, mean and prod. Sums accumulate wider than their output (double for float32, see
// docs/design/0001); prod multiplies in the opmath type so overflow matches torch; integer and
// bool inputs give int64 unless a dtype is requested.
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/reduce_impl.h"

namespace vt::reduce {
namespace {

template <class A>
struct ProdOp {
  A identity() const { return A(1); }
  auto map(auto x, auto) const { return cvt<A>(x); }
  auto combine(auto a, auto b) const { return a * b; }
  A finish(A a, int64_t) const { return a; }
};

template <class T>
using prod_acc_t = std::conditional_t<std::is_floating_point_v<opmath_t<T>>, opmath_t<T>, int64_t>;

// Integers and bool widen to int64, floats keep their dtype.
ScalarType natural_dtype(ScalarType t) { return is_integral(t, true) ? ScalarType::Int64 : t; }

enum class Kind { Sum, Mean, Prod };

// Reduces `input` (already in the requested dtype) into a new tensor of its natural dtype.
Tensor fold(Kind kind, const Tensor& input, const DimVector& dims, bool keepdim) {
  ReducePlan plan = make_plan(input, dims, keepdim);
  ScalarType out_dtype = natural_dtype(input.dtype());
  Tensor out = Tensor::empty(plan.out_shape, out_dtype, input.device());
  visit_dtype(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Out = std::conditional_t<std::is_floating_point_v<opmath_t<T>>, T, int64_t>;
    Out* dst = out.data_as<Out>();
    if (kind == Kind::Prod) {
      run(plan, FoldReducer<T, Out, ProdOp<prod_acc_t<T>>>{{}, dst});
    } else {
      using A = sum_acc_t<T>;
      A divisor = kind == Kind::Mean ? A(plan.red_numel) : A(0);
      // An empty mean divides 0 by 0: nan, as in torch.
      if (kind == Kind::Mean && plan.red_numel == 0) divisor = A(NAN);
      run(plan, FoldReducer<T, Out, SumOp<A>>{{divisor}, dst});
    }
  });
  return out;
}

Tensor fold_to(Kind kind, const Tensor& self, const DimVector& dims, bool keepdim,
               std::optional<ScalarType> dtype) {
  ScalarType want = dtype.value_or(natural_dtype(self.dtype()));
  Tensor input = dtype && *dtype != self.dtype() ? to_dtype(self, *dtype) : self;
  Tensor out = fold(kind, input, dims, keepdim);
  return out.dtype() == want ? out : to_dtype(out, want);
}

Tensor sum_kernel(const Tensor& self, std::optional<IntArrayRef> dim, bool keepdim,
                  std::optional<ScalarType> dtype) {
  return fold_to(Kind::Sum, self, reduction_dims(self, dim, "sum"), keepdim, dtype);
}

Tensor mean_kernel(const Tensor& self, std::optional<IntArrayRef> dim, bool keepdim,
                   std::optional<ScalarType> dtype) {
  ScalarType out_dtype = dtype.value_or(self.dtype());
  VT_CHECK(is_floating(out_dtype),
           "mean(): could not infer output dtype. ", dtype ? "Optional" : "Input",
           " dtype must be either a floating point or complex dtype. Got: ",
           dtype_name(out_dtype));
  return fold_to(Kind::Mean, self, reduction_dims(self, dim, "mean"), keepdim, dtype);
}

Tensor prod_kernel(const Tensor& self, std::optional<int64_t> dim, bool keepdim,
                   std::optional<ScalarType> dtype) {
  DimVector dims;
  if (dim) {
    int64_t d = wrap_dim(*dim, self.dim(), "prod");
    if (self.dim() > 0) dims.push_back(d);
  } else {
    dims = reduction_dims(self, std::nullopt, "prod");
    keepdim = false;
  }
  return fold_to(Kind::Prod, self, dims, keepdim, dtype);
}

}  // namespace

void register_sum_ops() {
  define_kernel("vt::sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &sum_kernel);
  define_kernel("vt::mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &mean_kernel);
  define_kernel("vt::prod(Tensor self, int? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &prod_kernel);
}

}  // namespace vt::reduce
