// Indexing by content: masks, gather/scatter, index_* ops, advanced indexing, nonzero, sort,
// topk, unique, one_hot. Index tensors are int64 (int32 is accepted where torch accepts it)
// or bool masks; out-of-range indices raise, never read or write out of bounds.
#pragma once

#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"
#include "dispatch/boxing.h"

namespace vt {

// Masks.
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value);
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value);  // 0-dim value
const Tensor& masked_fill_(const Tensor& self, const Tensor& mask, const Scalar& value);
const Tensor& masked_fill_(const Tensor& self, const Tensor& mask, const Tensor& value);
Tensor masked_select(const Tensor& self, const Tensor& mask);
Tensor nonzero(const Tensor& self);  // [count, ndim] int64

// Gathering along one dim.
Tensor index_select(const Tensor& self, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& self, int64_t dim, const Tensor& index, bool sparse_grad = false);

// Scattering along one dim; reduce is "add" or "multiply" for scatter, and "sum", "prod",
// "mean", "amax" or "amin" for scatter_reduce.
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value);
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
               std::string_view reduce);
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
               std::string_view reduce);
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value);
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                       std::string_view reduce);
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value,
                       std::string_view reduce);
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
const Tensor& scatter_add_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                      std::string_view reduce, bool include_self = true);
const Tensor& scatter_reduce_(const Tensor& self, int64_t dim, const Tensor& index,
                              const Tensor& src, std::string_view reduce, bool include_self = true);
Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                 const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& index_add_(const Tensor& self, int64_t dim, const Tensor& index,
                         const Tensor& source, const Scalar& alpha = Scalar(int64_t(1)));
Tensor index_copy(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source);
const Tensor& index_copy_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source);

// Advanced indexing: indices[k] indexes dim dims[k] of self (default: consecutive dims from 0;
// a k-dim bool mask covers k dims). The broadcast index shape replaces the indexed dims in
// place when they are adjacent, and goes first otherwise (torch's rule).
Tensor index(const Tensor& self, TensorList indices,
             std::optional<IntArrayRef> dims = std::nullopt);
Tensor index_put(const Tensor& self, TensorList indices, const Tensor& values,
                 bool accumulate = false, std::optional<IntArrayRef> dims = std::nullopt);
const Tensor& index_put_(const Tensor& self, TensorList indices, const Tensor& values,
                         bool accumulate = false, std::optional<IntArrayRef> dims = std::nullopt);

// Ordering: NaN sorts above every number; ties keep their input order.
std::tuple<Tensor, Tensor> sort(const Tensor& self, int64_t dim = -1, bool descending = false,
                                bool stable = false);
Tensor argsort(const Tensor& self, int64_t dim = -1, bool descending = false, bool stable = false);
std::tuple<Tensor, Tensor> topk(const Tensor& self, int64_t k, int64_t dim = -1,
                                bool largest = true, bool sorted = true);
// (values, inverse, counts); inverse and counts are empty unless requested.
std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& self, bool sorted = true,
                                          bool return_inverse = false, bool return_counts = false,
                                          std::optional<int64_t> dim = std::nullopt);
Tensor one_hot(const Tensor& self, int64_t num_classes = -1);

}  // namespace vt
