// Linear algebra: matrix products (on BLAS for float32/float64), linear and einsum.
//
// Products parallelize inside: call them on whole batches (bmm, a folded mm) rather than from
// inside a parallel_for, where they run single-threaded on the calling thread.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// Matrix products. out= forms write into out (same dtype and shape as the result) and return it.
Tensor mm(const Tensor& self, const Tensor& mat2);
const Tensor& mm_out(const Tensor& out, const Tensor& self, const Tensor& mat2);
Tensor bmm(const Tensor& self, const Tensor& mat2);
const Tensor& bmm_out(const Tensor& out, const Tensor& self, const Tensor& mat2);
// beta * self + alpha * (mat1 @ mat2), self broadcast to the product's shape; beta == 0
// ignores self (NaN included).
Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2,
             const Scalar& beta = Scalar(int64_t(1)), const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& addmm_(const Tensor& self, const Tensor& mat1, const Tensor& mat2,
                     const Scalar& beta = Scalar(int64_t(1)),
                     const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& addmm_out(const Tensor& out, const Tensor& self, const Tensor& mat1,
                        const Tensor& mat2, const Scalar& beta = Scalar(int64_t(1)),
                        const Scalar& alpha = Scalar(int64_t(1)));
Tensor baddbmm(const Tensor& self, const Tensor& batch1, const Tensor& batch2,
               const Scalar& beta = Scalar(int64_t(1)), const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& baddbmm_(const Tensor& self, const Tensor& batch1, const Tensor& batch2,
                       const Scalar& beta = Scalar(int64_t(1)),
                       const Scalar& alpha = Scalar(int64_t(1)));
const Tensor& baddbmm_out(const Tensor& out, const Tensor& self, const Tensor& batch1,
                          const Tensor& batch2, const Scalar& beta = Scalar(int64_t(1)),
                          const Scalar& alpha = Scalar(int64_t(1)));
Tensor dot(const Tensor& self, const Tensor& other);
const Tensor& dot_out(const Tensor& out, const Tensor& self, const Tensor& other);
Tensor mv(const Tensor& self, const Tensor& vec);
const Tensor& mv_out(const Tensor& out, const Tensor& self, const Tensor& vec);
Tensor outer(const Tensor& self, const Tensor& vec2);
const Tensor& outer_out(const Tensor& out, const Tensor& self, const Tensor& vec2);

// torch.matmul: dot, matrix-vector, matrix-matrix and batched products with broadcast batch dims.
Tensor matmul(const Tensor& self, const Tensor& other);
const Tensor& matmul_out(const Tensor& out, const Tensor& self, const Tensor& other);
// input @ weight^T + bias, weight [out_features, in_features] (or 1-D).
Tensor linear(const Tensor& input, const Tensor& weight,
              const std::optional<Tensor>& bias = std::nullopt);
// torch.einsum, contracted pairwise left to right through bmm.
Tensor einsum(std::string_view equation, std::span<const Tensor> operands);

}  // namespace vt
