// Scattering along one dim: scatter (assign, add, multiply), scatter_add, scatter_reduce,
// index_add and index_copy. Work is split over the positions off the dim, and each
// position walks its line serially, so repeated indices combine without races.
#include <cmath>
#include <string>

#include "dispatch/dispatcher.h"
#include "ops/index_internal.h"
#include "ops/ops.h"

namespace vt {
namespace {

using namespace index_detail;

using Reduce = ScatterReduce;

template <Reduce R, typename M>
inline M combine(M acc, M v, M alpha, bool unit_alpha) {
  if constexpr (std::is_same_v<M, bool>) {
    if constexpr (R == Reduce::Assign) return v;
    else if constexpr (R == Reduce::Sum || R == Reduce::Max) return acc || v;
    else return acc && v;
  } else {
    if constexpr (R == Reduce::Assign) return v;
    else if constexpr (R == Reduce::Sum || R == Reduce::Mean) return unit_alpha ? M(acc + v) : M(acc + alpha * v);
    else if constexpr (R == Reduce::Prod) return M(acc * v);
    else if constexpr (std::is_floating_point_v<M>) {
      // NaN wins, as in torch's amax/amin.
      if (std::isnan(v)) return v;
      return R == Reduce::Max ? std::max(acc, v) : std::min(acc, v);
    } else {
      return R == Reduce::Max ? std::max(acc, v) : std::min(acc, v);
    }
  }
}

// self[.., index[p], ..] (R)= src[p] (or value) for every position p of index, index being
// int64 with self's rank; alpha scales the summed values (index_add).
template <Reduce R>
void scatter_lines(const char* op, const Tensor& self, int64_t d, const Tensor& index,
                   const Tensor& src, const Scalar& value, const Scalar& alpha) {
  if (index.numel() == 0) return;
  std::vector<Tensor> operands = {self.view_as_strided(index.sizes(), self.strides(), self.storage_offset()), index};
  if (src.defined()) operands.push_back(src.view_as_strided(index.sizes(), src.strides(), src.storage_offset()));
  const int64_t self_ds = self.strides()[d] * self.itemsize(), idx_ds = index.strides()[d] * 8;
  const int64_t src_ds = src.defined() ? src.strides()[d] * src.itemsize() : 0;
  const bool has_src = src.defined();
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    const M v0 = has_src ? M() : static_cast<M>(value.to<T>());
    const M a = alpha.to<M>();
    const bool unit = alpha.to_double() == 1.0;
    for_each_line(op, operands, d, index.sizes()[d], [&](char** data, const int64_t* st, int64_t n) {
      auto one = [&](int64_t i, int64_t j) {
        int64_t k = *reinterpret_cast<const int64_t*>(data[1] + i * st[1] + j * idx_ds);
        T* dst = reinterpret_cast<T*>(data[0] + i * st[0] + k * self_ds);
        M v = has_src ? M(*reinterpret_cast<const T*>(data[2] + i * st[2] + j * src_ds)) : v0;
        *dst = static_cast<T>(combine<R, M>(M(*dst), v, a, unit));
      };
      const int64_t len = index.sizes()[d];
      // Walk whichever of line and positions is closer together in memory innermost.
      if (n == 1 || std::abs(idx_ds) <= std::abs(st[1])) {
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < len; ++j) one(i, j);
      } else {
        for (int64_t j = 0; j < len; ++j)
          for (int64_t i = 0; i < n; ++i) one(i, j);
      }
    });
  });
}

// torch's scatter checks; returns the index as int64 with self's (at least 1-D) rank.
Tensor checked_scatter_index(const char* op, const Tensor& self, int64_t d, const Tensor& index,
                             const Tensor& src) {
  VT_CHECK(index.dtype() == ScalarType::Int64 || index.dtype() == ScalarType::Int32, op,
           "(): Expected dtype int64 for index");
  const int64_t nd = std::max<int64_t>(self.dim(), 1);
  VT_CHECK(std::max<int64_t>(index.dim(), 1) == nd,
           "Index tensor must have the same number of dimensions as self tensor");
  if (src.defined()) {
    VT_CHECK(std::max<int64_t>(src.dim(), 1) == nd,
             "Index tensor must have the same number of dimensions as src tensor");
    VT_CHECK(src.dtype() == self.dtype(), op, "(): Expected self.dtype to be equal to src.dtype");
  }
  Tensor idx = as_1d(as_long(index));
  Tensor s1 = as_1d(self);
  for (int64_t k = 0; k < nd; ++k) {
    bool fits = (k == d || idx.sizes()[k] <= s1.sizes()[k]) &&
                (!src.defined() || idx.sizes()[k] <= as_1d(src).sizes()[k]);
    if (fits) continue;
    if (src.defined())
      fail(VT_ERROR_INVALID_ARGUMENT, "Expected index ", shape_string(index.sizes()),
           " to be no larger than self ", shape_string(self.sizes()), " apart from dimension ", d,
           " and to be no larger size than src ", shape_string(src.sizes()));
    fail(VT_ERROR_INVALID_ARGUMENT, "Expected index ", shape_string(index.sizes()),
         " to be no larger than self ", shape_string(self.sizes()), " apart from dimension ", d);
  }
  check_index_range(idx, s1.sizes()[d], d, false, VT_ERROR_INVALID_ARGUMENT);
  check_writable(self, op);
  return idx;
}

// A value of T's reduction identity, for scatter_reduce(include_self=False).
Scalar identity(ScalarType dtype, Reduce r) {
  if (r == Reduce::Sum || r == Reduce::Mean) return Scalar(int64_t(0));
  if (r == Reduce::Prod) return Scalar(int64_t(1));
  bool max = r == Reduce::Max;
  if (dtype == ScalarType::Bool) return Scalar::from_bool(!max);
  if (is_floating(dtype)) return Scalar(max ? -INFINITY : INFINITY);
  return visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>)
      return Scalar(int64_t(max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max()));
    else return Scalar(int64_t(0));
  });
}

// self /= count (floor division for integers), leaving positions nothing reached (count 0).
void divide_by_count(const Tensor& self, const Tensor& count) {
  IterConfig c;
  c.op_name = "scatter_reduce";
  c.outputs = {self};
  c.inputs = {count};
  c.promote_inputs = false;
  c.compute_dtype = self.dtype();
  c.cast_outputs = false;
  TensorIterator it(std::move(c));
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    if constexpr (!std::is_same_v<T, bool>) {
      it.for_each([](char** data, const int64_t* st, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          T* o = reinterpret_cast<T*>(data[0] + i * st[0]);
          int64_t k = std::max<int64_t>(*reinterpret_cast<const int64_t*>(data[1] + i * st[1]), 1);
          if constexpr (std::is_floating_point_v<M>) {
            *o = static_cast<T>(M(*o) / M(k));
          } else {
            int64_t x = int64_t(*o), q = x / k;
            if (x % k != 0 && x < 0) --q;
            *o = static_cast<T>(q);
          }
        }
      }, kGrainSize);
    }
  });
}

void scatter_impl(const char* op, const Tensor& self, int64_t dim, const Tensor& index,
                  const Tensor& src, const Scalar& value, Reduce r, bool include_self) {
  int64_t d = wrap_dim(dim, self.dim(), op);
  Tensor idx = checked_scatter_index(op, self, d, index, src);
  if (r == Reduce::Mean && self.dtype() == ScalarType::Bool)
    fail(VT_ERROR_NOT_IMPLEMENTED, "\"scatter_gather_tensor_cpu_reduce_mean\" not implemented for 'Bool'");
  if (!src.defined()) visit_dtype(self.dtype(), [&](auto tag) { checked_scalar<decltype(tag)>(value); });
  scatter_reduce_into(op, as_1d(self), d, idx, src.defined() ? as_1d(src) : src, value, r, include_self,
                      Scalar(int64_t(1)));
  self.bump_version();
}

Reduce scatter_mode(std::string_view reduce) {
  if (reduce == "add") return Reduce::Sum;
  if (reduce == "multiply") return Reduce::Prod;
  fail(VT_ERROR_INVALID_ARGUMENT, "reduce argument must be either add or multiply.");
}

Reduce scatter_reduce_mode(std::string_view reduce) {
  if (reduce == "sum") return Reduce::Sum;
  if (reduce == "prod") return Reduce::Prod;
  if (reduce == "mean") return Reduce::Mean;
  if (reduce == "amax") return Reduce::Max;
  if (reduce == "amin") return Reduce::Min;
  fail(VT_ERROR_INVALID_ARGUMENT, "reduce argument must be either sum, prod, mean, amax or amin, got ",
       std::string(reduce));
}

Tensor scatter_src_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  scatter_impl("scatter", self, dim, index, src, Scalar(), Reduce::Assign, true);
  return self;
}
Tensor scatter_value_(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  scatter_impl("scatter", self, dim, index, Tensor(), value, Reduce::Assign, true);
  return self;
}
Tensor scatter_reduce_src_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                           std::string_view reduce) {
  scatter_impl("scatter", self, dim, index, src, Scalar(), scatter_mode(reduce), true);
  return self;
}
Tensor scatter_reduce_value_(const Tensor& self, int64_t dim, const Tensor& index,
                             const Scalar& value, std::string_view reduce) {
  scatter_impl("scatter", self, dim, index, Tensor(), value, scatter_mode(reduce), true);
  return self;
}
Tensor scatter_add_inplace(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  scatter_impl("scatter_add", self, dim, index, src, Scalar(), Reduce::Sum, true);
  return self;
}
Tensor scatter_reduce_two_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                           std::string_view reduce, bool include_self) {
  scatter_impl("scatter_reduce", self, dim, index, src, Scalar(), scatter_reduce_mode(reduce), include_self);
  return self;
}

Tensor scatter_src(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  return on_copy(self, [&](const Tensor& o) { vt::scatter_(o, dim, index, src); });
}
Tensor scatter_value(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  return on_copy(self, [&](const Tensor& o) { vt::scatter_(o, dim, index, value); });
}
Tensor scatter_reduce_src(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                          std::string_view reduce) {
  return on_copy(self, [&](const Tensor& o) { vt::scatter_(o, dim, index, src, reduce); });
}
Tensor scatter_reduce_value(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
                            std::string_view reduce) {
  return on_copy(self, [&](const Tensor& o) { vt::scatter_(o, dim, index, value, reduce); });
}
Tensor scatter_add_kernel(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  return on_copy(self, [&](const Tensor& o) { vt::scatter_add_(o, dim, index, src); });
}
Tensor scatter_reduce_two(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                          std::string_view reduce, bool include_self) {
  return on_copy(self, [&](const Tensor& o) { vt::scatter_reduce_(o, dim, index, src, reduce, include_self); });
}

}  // namespace

namespace index_detail {

void check_writable(const Tensor& self, const char* op) {
  for (int64_t d = 0; d < self.dim(); ++d)
    VT_CHECK(self.strides()[d] != 0 || self.sizes()[d] <= 1, op, ": unsupported operation: more "
             "than one element of the written-to tensor refers to a single memory location. "
             "Please clone() the tensor before performing the operation.");
}

void scatter_reduce_into(const char* op, const Tensor& self, int64_t d, const Tensor& index,
                         const Tensor& src, const Scalar& value, ScatterReduce r, bool include_self,
                         const Scalar& alpha) {
  // 16-bit floats sum and multiply in float32 and round once, as torch does.
  const bool widen = is_reduced_float(self.dtype()) && (r == Reduce::Sum || r == Reduce::Prod || r == Reduce::Mean);
  Tensor target = widen ? vt::to_dtype(self, ScalarType::Float32) : self;
  Tensor source = widen && src.defined() ? vt::to_dtype(src, ScalarType::Float32) : src;
  if (!include_self) scatter_lines<Reduce::Assign>(op, target, d, index, Tensor(), identity(self.dtype(), r), alpha);
  switch (r) {
    case Reduce::Assign: scatter_lines<Reduce::Assign>(op, target, d, index, source, value, alpha); break;
    case Reduce::Sum:
    case Reduce::Mean: scatter_lines<Reduce::Sum>(op, target, d, index, source, value, alpha); break;
    case Reduce::Prod: scatter_lines<Reduce::Prod>(op, target, d, index, source, value, alpha); break;
    case Reduce::Max: scatter_lines<Reduce::Max>(op, target, d, index, source, value, alpha); break;
    case Reduce::Min: scatter_lines<Reduce::Min>(op, target, d, index, source, value, alpha); break;
  }
  if (widen) vt::copy_(self, target);
  if (r == Reduce::Mean) {
    // torch divides the rounded sum by the count in self's dtype; untouched positions keep self.
    Tensor count = vt::full(self.sizes(), Scalar(int64_t(include_self ? 1 : 0)), ScalarType::Int64, self.device());
    scatter_lines<Reduce::Sum>(op, count, d, index, Tensor(), Scalar(int64_t(1)), alpha);
    divide_by_count(self, count);
  }
}

void register_scatter_kernels() {
  auto both = [](const char* functional, auto fn, const char* inplace, auto fn_) {
    define_kernel(functional, VT_DEVICE_ANY, fn);
    define_kernel(inplace, VT_DEVICE_CPU, fn_);
  };
  both("vt::scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor", &scatter_src,
       "vt::scatter_.src(Tensor(a!) self, int dim, Tensor index, Tensor src) -> Tensor(a!)", &scatter_src_);
  both("vt::scatter.value(Tensor self, int dim, Tensor index, Scalar value) -> Tensor", &scatter_value,
       "vt::scatter_.value(Tensor(a!) self, int dim, Tensor index, Scalar value) -> Tensor(a!)",
       &scatter_value_);
  both("vt::scatter.reduce(Tensor self, int dim, Tensor index, Tensor src, *, str reduce) -> Tensor",
       &scatter_reduce_src,
       "vt::scatter_.reduce(Tensor(a!) self, int dim, Tensor index, Tensor src, *, str reduce) -> Tensor(a!)",
       &scatter_reduce_src_);
  both("vt::scatter.value_reduce(Tensor self, int dim, Tensor index, Scalar value, *, str reduce) -> Tensor",
       &scatter_reduce_value,
       "vt::scatter_.value_reduce(Tensor(a!) self, int dim, Tensor index, Scalar value, *, str reduce) -> Tensor(a!)",
       &scatter_reduce_value_);
  both("vt::scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor", &scatter_add_kernel,
       "vt::scatter_add_(Tensor(a!) self, int dim, Tensor index, Tensor src) -> Tensor(a!)",
       &scatter_add_inplace);
  both("vt::scatter_reduce.two(Tensor self, int dim, Tensor index, Tensor src, str reduce, *, "
       "bool include_self=True) -> Tensor", &scatter_reduce_two,
       "vt::scatter_reduce_.two(Tensor(a!) self, int dim, Tensor index, Tensor src, str reduce, *, "
       "bool include_self=True) -> Tensor(a!)", &scatter_reduce_two_);
}

}  // namespace index_detail
}  // namespace vt
