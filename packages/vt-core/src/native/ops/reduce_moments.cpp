// var, std, var_mean, std_mean. Two passes in double: the mean, then the sum of squared
// deviations from it. Both passes vectorize, and subtracting the exact-to-double mean avoids
// the cancellation of a sum-of-squares formula (torch uses Welford; results agree to rounding).
#include <cmath>
#include <tuple>

#include "dispatch/dispatcher.h"
#include "ops/copy.h"
#include "ops/reduce_impl.h"

namespace vt::reduce {
namespace {

struct SquaredDeviationOp {
  using Param = double;
  const double* param;  // the mean of each output's slice
  double divisor;
  bool take_sqrt;
  double identity() const { return 0.0; }
  auto map(auto x, auto mean) const {
    auto d = cvt<double>(x) - mean;
    return d * d;
  }
  auto combine(auto a, auto b) const { return a + b; }
  double finish(double a, int64_t) const {
    double v = a / divisor;  // divisor 0: inf, or nan for a single element, as in torch
    return take_sqrt ? std::sqrt(v) : v;
  }
};

struct Moments {
  Tensor var, mean;
};

Moments moments(const char* op, const Tensor& self, std::optional<IntArrayRef> dim,
                const std::optional<Scalar>& correction, bool keepdim, bool take_sqrt,
                bool want_mean) {
  VT_CHECK(is_floating(self.dtype()), op,
           ": std and var only support floating point and complex dtypes, got ",
           dtype_name(self.dtype()));
  DimVector dims = reduction_dims(self, dim, op);
  ReducePlan plan = make_plan(self, dims, keepdim);
  const double n = double(plan.red_numel);
  const double divisor = std::max(0.0, n - (correction ? correction->to_double() : 1.0));
  Tensor mean = Tensor::empty(plan.out_shape, ScalarType::Float64, self.device());
  Tensor var = Tensor::empty(plan.out_shape, self.dtype(), self.device());
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<opmath_t<T>>) {
      // An empty slice's mean is 0/0 = nan, as in torch.
      double mean_divisor = plan.red_numel ? n : NAN;
      run(plan, FoldReducer<T, double, SumOp<double>>{{mean_divisor}, mean.data_as<double>()});
      run(plan, FoldReducer<T, T, SquaredDeviationOp>{
                    {mean.data_as<double>(), divisor, take_sqrt}, var.data_as<T>()});
    }
  });
  if (want_mean && self.dtype() != ScalarType::Float64) mean = to_dtype(mean, self.dtype());
  return {var, mean};
}

Tensor var_kernel(const Tensor& self, std::optional<IntArrayRef> dim,
                  const std::optional<Scalar>& correction, bool keepdim) {
  return moments("var", self, dim, correction, keepdim, false, false).var;
}
Tensor std_kernel(const Tensor& self, std::optional<IntArrayRef> dim,
                  const std::optional<Scalar>& correction, bool keepdim) {
  return moments("std", self, dim, correction, keepdim, true, false).var;
}
std::tuple<Tensor, Tensor> var_mean_kernel(const Tensor& self, std::optional<IntArrayRef> dim,
                                           const std::optional<Scalar>& correction, bool keepdim) {
  Moments m = moments("var_mean", self, dim, correction, keepdim, false, true);
  return {m.var, m.mean};
}
std::tuple<Tensor, Tensor> std_mean_kernel(const Tensor& self, std::optional<IntArrayRef> dim,
                                           const std::optional<Scalar>& correction, bool keepdim) {
  Moments m = moments("std_mean", self, dim, correction, keepdim, true, true);
  return {m.var, m.mean};
}

}  // namespace

void register_moment_ops() {
  define_kernel("vt::var(Tensor self, int[]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &var_kernel);
  define_kernel("vt::std(Tensor self, int[]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &std_kernel);
  define_kernel("vt::var_mean(Tensor self, int[]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> (Tensor, Tensor)",
                VT_DEVICE_CPU, &var_mean_kernel);
  define_kernel("vt::std_mean(Tensor self, int[]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> (Tensor, Tensor)",
                VT_DEVICE_CPU, &std_mean_kernel);
}

}  // namespace vt::reduce
