// Reductions over any set of dims, and scans along one dim.
#pragma once

#include <optional>
#include <tuple>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// Reductions; dims == nullopt or empty reduce everything.
Tensor sum(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
           bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt);
Tensor mean(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
            bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt);
Tensor prod(const Tensor& self, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
            std::optional<ScalarType> dtype = std::nullopt);

// Extremes: whole tensor, (values, indices) along a dim, values over dims, indices.
Tensor max(const Tensor& self);
Tensor min(const Tensor& self);
std::tuple<Tensor, Tensor> max(const Tensor& self, int64_t dim, bool keepdim = false);
std::tuple<Tensor, Tensor> min(const Tensor& self, int64_t dim, bool keepdim = false);
Tensor amax(const Tensor& self, IntArrayRef dims = {}, bool keepdim = false);
Tensor amin(const Tensor& self, IntArrayRef dims = {}, bool keepdim = false);
// dim == nullopt: the index into the flattened tensor.
Tensor argmax(const Tensor& self, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& self, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);

// Moments; correction == nullopt means 1 (Bessel's correction).
Tensor var(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
           const std::optional<Scalar>& correction = std::nullopt, bool keepdim = false);
Tensor std(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
           const std::optional<Scalar>& correction = std::nullopt, bool keepdim = false);
std::tuple<Tensor, Tensor> var_mean(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
                                    const std::optional<Scalar>& correction = std::nullopt,
                                    bool keepdim = false);
std::tuple<Tensor, Tensor> std_mean(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt,
                                    const std::optional<Scalar>& correction = std::nullopt,
                                    bool keepdim = false);

// Vector p-norm (p = nullopt means 2); logsumexp over dims (empty: all).
Tensor norm(const Tensor& self, const std::optional<Scalar>& p = std::nullopt,
            std::optional<IntArrayRef> dims = std::nullopt, bool keepdim = false,
            std::optional<ScalarType> dtype = std::nullopt);
Tensor logsumexp(const Tensor& self, IntArrayRef dims, bool keepdim = false);

// Truth reductions; here an empty dims list reduces nothing, as in torch.
Tensor all(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt, bool keepdim = false);
Tensor any(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt, bool keepdim = false);

// Inclusive scans along dim.
Tensor cumsum(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype = std::nullopt);
Tensor cumprod(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype = std::nullopt);

}  // namespace vt
