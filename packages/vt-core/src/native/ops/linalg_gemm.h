// The one matrix-product kernel under mm, bmm, addmm, baddbmm and dot, plus the linalg
// family's internal registration hooks.
#pragma once

#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// out[i] = beta * out[i] + alpha * (a[i] @ b[i]) for 3-D tensors of one dtype (not bool):
// a [B, M, K], b [B, K, N], out [B, M, N], any strides (0 for broadcast batches). out must not
// overlap a or b. beta == 0 ignores out's values and alpha == 0 the product's, NaN included,
// as torch documents for addmm. float32/float64 go to BLAS, reading transposed operands in
// place; 16-bit floats compute in float32; integers wrap like torch's.
void gemm_into(const Tensor& out, const Tensor& a, const Tensor& b, const Scalar& beta,
               const Scalar& alpha);

// Checks a given out= tensor against the result's shape and dtype (vt does not resize out
// tensors: a wrong shape is NotImplementedError) and refuses outputs with internal overlap.
void check_out(const char* op, const Tensor& out, IntArrayRef shape, ScalarType dtype);

// The linalg family's op groups, called from register_linalg_ops().
void register_linalg_matmul_ops();
void register_linalg_einsum_ops();

}  // namespace vt
