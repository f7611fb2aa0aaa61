// max, min (whole tensor, or values and indices along a dim), amax, amin, argmax, argmin.
// NaN wins like in torch (the first NaN's index); ties keep the first index.
#include <limits>
#include <tuple>

#include "dispatch/dispatcher.h"
#include "ops/reduce_impl.h"

namespace vt::reduce {
namespace {

template <class T, bool Max>
struct ExtremeOp {
  using M = opmath_t<T>;
  M identity() const {
    if constexpr (std::is_floating_point_v<M>) return Max ? -INFINITY : INFINITY;
    else return Max ? std::numeric_limits<M>::lowest() : std::numeric_limits<M>::max();
  }
  auto map(auto x, auto) const { return cvt<M>(x); }
  auto combine(auto a, auto b) const { return pick_extreme<Max>(a, b); }
  M finish(M a, int64_t) const { return a; }
};

// Value and index; the index is the position in the (logically ordered) reduced slice.
template <class T, bool Max>
struct ArgReducer {
  using In = T;
  using M = opmath_t<T>;
  struct Acc {
    M v;
    int64_t i;
  };
  T* values;         // may be null (argmax)
  int64_t* indices;

  static bool is_nan(M x) {
    if constexpr (std::is_floating_point_v<M>) return x != x;
    else return false;
  }
  // x replaces the current best v: strictly better, or the first NaN.
  static bool beats(M x, M v) { return (Max ? x > v : x < v) || (is_nan(x) && !is_nan(v)); }
  static bool same(M x, M v) { return x == v || (is_nan(x) && is_nan(v)); }

  Acc init(int64_t, const T* slice) const { return {M(*slice), 0}; }
  void run(Acc& a, const T* x, int64_t n, int64_t s, int64_t index, int64_t) const {
    // The extremum of each block vectorizes; the index is searched only when the block wins.
    constexpr int64_t B = 256;
    for (int64_t b = 0; b < n; b += B) {
      const int64_t bn = std::min(B, n - b);
      const T* xb = x + b * s;
      M m = M(xb[0]);
      FoldReducer<T, T, ExtremeOp<T, Max>>{}.run(m, xb, bn, s, 0, 0);
      if (!beats(m, a.v)) continue;
      int64_t k = 0;
      for (; k < bn; ++k)
        if (same(M(xb[k * s]), m)) break;
      a = {m, index + b + k};
      if (is_nan(m)) return;  // nothing later can replace a NaN
    }
  }
  void cols(Acc* a, const T* x, int64_t n, int64_t index, int64_t) const {
    for (int64_t j = 0; j < n; ++j) {
      M v = M(x[j]);
      if (beats(v, a[j].v)) a[j] = {v, index};
    }
  }
  void merge(Acc& a, const Acc& b) const {
    if (beats(b.v, a.v) || (same(b.v, a.v) && b.i < a.i)) a = b;
  }
  void write(int64_t o, const Acc& a) const {
    if (values) values[o] = cast_value<T>(a.v);
    indices[o] = a.i;
  }
};

template <bool Max>
Tensor extreme(const Tensor& self, const DimVector& dims, bool keepdim) {
  ReducePlan plan = make_plan(self, dims, keepdim);
  Tensor out = Tensor::empty(plan.out_shape, self.dtype(), self.device());
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    run(plan, FoldReducer<T, T, ExtremeOp<T, Max>>{{}, out.data_as<T>()});
  });
  return out;
}

template <bool Max>
std::tuple<Tensor, Tensor> arg_extreme(const Tensor& self, const DimVector& dims, bool keepdim,
                                       bool with_values) {
  ReducePlan plan = make_plan(self, dims, keepdim, /*logical_order=*/true);
  Tensor values = with_values ? Tensor::empty(plan.out_shape, self.dtype(), self.device()) : Tensor();
  Tensor indices = Tensor::empty(plan.out_shape, ScalarType::Int64, self.device());
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    run(plan, ArgReducer<T, Max>{with_values ? values.data_as<T>() : nullptr,
                                 indices.data_as<int64_t>()});
  });
  return {values, indices};
}

template <bool Max>
Tensor full_kernel(const Tensor& self) {
  VT_CHECK(self.numel() > 0, Max ? "max" : "min",
           "(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
           "reduction dim with the 'dim' argument.");
  return extreme<Max>(self, reduction_dims(self, std::nullopt, "max"), false);
}

template <bool Max>
std::tuple<Tensor, Tensor> dim_kernel(const Tensor& self, int64_t dim, bool keepdim) {
  const char* op = Max ? "max" : "min";
  int64_t d = wrap_dim(dim, self.dim(), op);
  DimVector dims;
  if (self.dim() > 0) dims.push_back(d);
  check_nonempty(self, dims, op);
  return arg_extreme<Max>(self, dims, keepdim, true);
}

template <bool Max>
Tensor amax_kernel(const Tensor& self, IntArrayRef dim, bool keepdim) {
  const char* op = Max ? "amax" : "amin";
  DimVector dims = reduction_dims(self, dim, op);
  VT_CHECK(!dim.empty() || self.numel() > 0, op,
           "(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
           "reduction dim with the 'dim' argument.");
  check_nonempty(self, dims, op);
  return extreme<Max>(self, dims, keepdim);
}

template <bool Max>
Tensor argmax_kernel(const Tensor& self, std::optional<int64_t> dim, bool keepdim) {
  const char* op = Max ? "argmax" : "argmin";
  VT_CHECK(self.dtype() != ScalarType::Bool, op, "(): does not support bool input");
  DimVector dims;
  if (dim) {
    int64_t d = wrap_dim(*dim, self.dim(), op);
    if (self.dim() > 0) dims.push_back(d);
    check_nonempty(self, dims, op);
  } else {
    VT_CHECK_INDEX(self.numel() > 0, op,
                   "(): Expected reduction dim to be specified for input.numel() == 0.");
    dims = reduction_dims(self, std::nullopt, op);
  }
  return std::get<1>(arg_extreme<Max>(self, dims, keepdim, false));
}

}  // namespace

void register_minmax_ops() {
  define_kernel("vt::max(Tensor self) -> Tensor", VT_DEVICE_CPU, &full_kernel<true>);
  define_kernel("vt::min(Tensor self) -> Tensor", VT_DEVICE_CPU, &full_kernel<false>);
  define_kernel("vt::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor, Tensor)",
                VT_DEVICE_CPU, &dim_kernel<true>);
  define_kernel("vt::min.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor, Tensor)",
                VT_DEVICE_CPU, &dim_kernel<false>);
  define_kernel("vt::amax(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &amax_kernel<true>);
  define_kernel("vt::amin(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &amax_kernel<false>);
  define_kernel("vt::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &argmax_kernel<true>);
  define_kernel("vt::argmin(Tensor self, int? dim=None, bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &argmax_kernel<false>);
}

}  // namespace vt::reduce
