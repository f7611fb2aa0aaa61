// The public C++ functions of the reduction family (sum and mean live in ops.cpp): each a
// cached typed handle into the dispatcher.
#include "dispatch/dispatcher.h"
#include "ops/reduce.h"

namespace vt {

#define VT_REDUCE_HANDLE(var, name, sig) static const OpHandle<sig> var(name)

using OptDims = std::optional<IntArrayRef>;
using OptDtype = std::optional<ScalarType>;
using OptScalar = std::optional<Scalar>;
using Pair = std::tuple<Tensor, Tensor>;

Tensor prod(const Tensor& self, std::optional<int64_t> dim, bool keepdim, OptDtype dtype) {
  VT_REDUCE_HANDLE(op, "vt::prod", Tensor(const Tensor&, std::optional<int64_t>, bool, OptDtype));
  return op(self, dim, keepdim, dtype);
}

Tensor max(const Tensor& self) {
  VT_REDUCE_HANDLE(op, "vt::max", Tensor(const Tensor&));
  return op(self);
}
Tensor min(const Tensor& self) {
  VT_REDUCE_HANDLE(op, "vt::min", Tensor(const Tensor&));
  return op(self);
}
Pair max(const Tensor& self, int64_t dim, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::max.dim", Pair(const Tensor&, int64_t, bool));
  return op(self, dim, keepdim);
}
Pair min(const Tensor& self, int64_t dim, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::min.dim", Pair(const Tensor&, int64_t, bool));
  return op(self, dim, keepdim);
}
Tensor amax(const Tensor& self, IntArrayRef dims, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::amax", Tensor(const Tensor&, IntArrayRef, bool));
  return op(self, dims, keepdim);
}
Tensor amin(const Tensor& self, IntArrayRef dims, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::amin", Tensor(const Tensor&, IntArrayRef, bool));
  return op(self, dims, keepdim);
}
Tensor argmax(const Tensor& self, std::optional<int64_t> dim, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::argmax", Tensor(const Tensor&, std::optional<int64_t>, bool));
  return op(self, dim, keepdim);
}
Tensor argmin(const Tensor& self, std::optional<int64_t> dim, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::argmin", Tensor(const Tensor&, std::optional<int64_t>, bool));
  return op(self, dim, keepdim);
}

Tensor var(const Tensor& self, OptDims dims, const OptScalar& correction, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::var", Tensor(const Tensor&, OptDims, const OptScalar&, bool));
  return op(self, dims, correction, keepdim);
}
Tensor std(const Tensor& self, OptDims dims, const OptScalar& correction, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::std", Tensor(const Tensor&, OptDims, const OptScalar&, bool));
  return op(self, dims, correction, keepdim);
}
Pair var_mean(const Tensor& self, OptDims dims, const OptScalar& correction, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::var_mean", Pair(const Tensor&, OptDims, const OptScalar&, bool));
  return op(self, dims, correction, keepdim);
}
Pair std_mean(const Tensor& self, OptDims dims, const OptScalar& correction, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::std_mean", Pair(const Tensor&, OptDims, const OptScalar&, bool));
  return op(self, dims, correction, keepdim);
}

Tensor norm(const Tensor& self, const OptScalar& p, OptDims dims, bool keepdim, OptDtype dtype) {
  VT_REDUCE_HANDLE(op, "vt::norm", Tensor(const Tensor&, const OptScalar&, OptDims, bool, OptDtype));
  return op(self, p, dims, keepdim, dtype);
}
Tensor logsumexp(const Tensor& self, IntArrayRef dims, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::logsumexp", Tensor(const Tensor&, IntArrayRef, bool));
  return op(self, dims, keepdim);
}

Tensor all(const Tensor& self, OptDims dims, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::all", Tensor(const Tensor&, OptDims, bool));
  return op(self, dims, keepdim);
}
Tensor any(const Tensor& self, OptDims dims, bool keepdim) {
  VT_REDUCE_HANDLE(op, "vt::any", Tensor(const Tensor&, OptDims, bool));
  return op(self, dims, keepdim);
}

Tensor cumsum(const Tensor& self, int64_t dim, OptDtype dtype) {
  VT_REDUCE_HANDLE(op, "vt::cumsum", Tensor(const Tensor&, int64_t, OptDtype));
  return op(self, dim, dtype);
}
Tensor cumprod(const Tensor& self, int64_t dim, OptDtype dtype) {
  VT_REDUCE_HANDLE(op, "vt::cumprod", Tensor(const Tensor&, int64_t, OptDtype));
  return op(self, dim, dtype);
}

}  // namespace vt
