// The index family's public C++ functions: each a cached typed handle into the dispatcher.
#include "dispatch/dispatcher.h"
#include "ops/index.h"

namespace vt {

#define VT_INDEX_OP(var, name, ...) static const OpHandle<__VA_ARGS__> var(name)

using DimsArg = std::optional<IntArrayRef>;

Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value) {
  VT_INDEX_OP(op, "vt::masked_fill.Scalar", Tensor(const Tensor&, const Tensor&, const Scalar&));
  return op(self, mask, value);
}
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value) {
  VT_INDEX_OP(op, "vt::masked_fill.Tensor", Tensor(const Tensor&, const Tensor&, const Tensor&));
  return op(self, mask, value);
}
const Tensor& masked_fill_(const Tensor& self, const Tensor& mask, const Scalar& value) {
  VT_INDEX_OP(op, "vt::masked_fill_.Scalar", Tensor(const Tensor&, const Tensor&, const Scalar&));
  op(self, mask, value);
  return self;
}
const Tensor& masked_fill_(const Tensor& self, const Tensor& mask, const Tensor& value) {
  VT_INDEX_OP(op, "vt::masked_fill_.Tensor", Tensor(const Tensor&, const Tensor&, const Tensor&));
  op(self, mask, value);
  return self;
}
Tensor masked_select(const Tensor& self, const Tensor& mask) {
  VT_INDEX_OP(op, "vt::masked_select", Tensor(const Tensor&, const Tensor&));
  return op(self, mask);
}
Tensor nonzero(const Tensor& self) {
  VT_INDEX_OP(op, "vt::nonzero", Tensor(const Tensor&));
  return op(self);
}
Tensor index_select(const Tensor& self, int64_t dim, const Tensor& index) {
  VT_INDEX_OP(op, "vt::index_select", Tensor(const Tensor&, int64_t, const Tensor&));
  return op(self, dim, index);
}
Tensor gather(const Tensor& self, int64_t dim, const Tensor& index, bool sparse_grad) {
  VT_INDEX_OP(op, "vt::gather", Tensor(const Tensor&, int64_t, const Tensor&, bool));
  return op(self, dim, index, sparse_grad);
}

using ScatterSrc = Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&);
using ScatterValue = Tensor(const Tensor&, int64_t, const Tensor&, const Scalar&);
using ScatterSrcReduce = Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&, std::string_view);
using ScatterValueReduce = Tensor(const Tensor&, int64_t, const Tensor&, const Scalar&, std::string_view);

Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  VT_INDEX_OP(op, "vt::scatter.src", ScatterSrc);
  return op(self, dim, index, src);
}
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  VT_INDEX_OP(op, "vt::scatter.value", ScatterValue);
  return op(self, dim, index, value);
}
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
               std::string_view reduce) {
  VT_INDEX_OP(op, "vt::scatter.reduce", ScatterSrcReduce);
  return op(self, dim, index, src, reduce);
}
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
               std::string_view reduce) {
  VT_INDEX_OP(op, "vt::scatter.value_reduce", ScatterValueReduce);
  return op(self, dim, index, value, reduce);
}
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  VT_INDEX_OP(op, "vt::scatter_.src", ScatterSrc);
  op(self, dim, index, src);
  return self;
}
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  VT_INDEX_OP(op, "vt::scatter_.value", ScatterValue);
  op(self, dim, index, value);
  return self;
}
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                       std::string_view reduce) {
  VT_INDEX_OP(op, "vt::scatter_.reduce", ScatterSrcReduce);
  op(self, dim, index, src, reduce);
  return self;
}
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
                       std::string_view reduce) {
  VT_INDEX_OP(op, "vt::scatter_.value_reduce", ScatterValueReduce);
  op(self, dim, index, value, reduce);
  return self;
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  VT_INDEX_OP(op, "vt::scatter_add", Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&));
  return op(self, dim, index, src);
}
const Tensor& scatter_add_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  VT_INDEX_OP(op, "vt::scatter_add_", Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&));
  op(self, dim, index, src);
  return self;
}
Tensor scatter_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                      std::string_view reduce, bool include_self) {
  VT_INDEX_OP(op, "vt::scatter_reduce.two", Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&, std::string_view, bool));
  return op(self, dim, index, src, reduce, include_self);
}
const Tensor& scatter_reduce_(const Tensor& self, int64_t dim, const Tensor& index,
                              const Tensor& src, std::string_view reduce, bool include_self) {
  VT_INDEX_OP(op, "vt::scatter_reduce_.two", Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&, std::string_view, bool));
  op(self, dim, index, src, reduce, include_self);
  return self;
}
Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                 const Scalar& alpha) {
  VT_INDEX_OP(op, "vt::index_add", Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&, const Scalar&));
  return op(self, dim, index, source, alpha);
}
const Tensor& index_add_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                         const Scalar& alpha) {
  VT_INDEX_OP(op, "vt::index_add_", Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&, const Scalar&));
  op(self, dim, index, source, alpha);
  return self;
}
Tensor index_copy(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  VT_INDEX_OP(op, "vt::index_copy", Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&));
  return op(self, dim, index, source);
}
const Tensor& index_copy_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  VT_INDEX_OP(op, "vt::index_copy_", Tensor(const Tensor&, int64_t, const Tensor&, const Tensor&));
  op(self, dim, index, source);
  return self;
}
Tensor index(const Tensor& self, TensorList indices, DimsArg dims) {
  VT_INDEX_OP(op, "vt::index.Tensor", Tensor(const Tensor&, TensorList, DimsArg));
  return op(self, indices, dims);
}
Tensor index_put(const Tensor& self, TensorList indices, const Tensor& values, bool accumulate,
                 DimsArg dims) {
  VT_INDEX_OP(op, "vt::index_put", Tensor(const Tensor&, TensorList, const Tensor&, bool, DimsArg));
  return op(self, indices, values, accumulate, dims);
}
const Tensor& index_put_(const Tensor& self, TensorList indices, const Tensor& values,
                         bool accumulate, DimsArg dims) {
  VT_INDEX_OP(op, "vt::index_put_", Tensor(const Tensor&, TensorList, const Tensor&, bool, DimsArg));
  op(self, indices, values, accumulate, dims);
  return self;
}
std::tuple<Tensor, Tensor> sort(const Tensor& self, int64_t dim, bool descending, bool stable) {
  VT_INDEX_OP(op, "vt::sort", std::tuple<Tensor, Tensor>(const Tensor&, int64_t, bool, bool));
  return op(self, dim, descending, stable);
}
Tensor argsort(const Tensor& self, int64_t dim, bool descending, bool stable) {
  VT_INDEX_OP(op, "vt::argsort", Tensor(const Tensor&, int64_t, bool, bool));
  return op(self, dim, descending, stable);
}
std::tuple<Tensor, Tensor> topk(const Tensor& self, int64_t k, int64_t dim, bool largest, bool sorted) {
  VT_INDEX_OP(op, "vt::topk", std::tuple<Tensor, Tensor>(const Tensor&, int64_t, int64_t, bool, bool));
  return op(self, k, dim, largest, sorted);
}
std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& self, bool sorted, bool return_inverse,
                                          bool return_counts, std::optional<int64_t> dim) {
  VT_INDEX_OP(op, "vt::unique", std::tuple<Tensor, Tensor, Tensor>(const Tensor&, bool, bool, bool, std::optional<int64_t>));
  return op(self, sorted, return_inverse, return_counts, dim);
}
Tensor one_hot(const Tensor& self, int64_t num_classes) {
  VT_INDEX_OP(op, "vt::one_hot", Tensor(const Tensor&, int64_t));
  return op(self, num_classes);
}

}  // namespace vt
