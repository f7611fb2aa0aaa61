// The CPU BLAS (OpenBLAS from the scipy-openblas32 wheel) behind vt's matrix products. Only
// linalg_blas.cpp sees cblas.h; callers pass plain row-major descriptions.
#pragma once

#include <cstdint>

namespace vt::blas {

// Whether libvt_core was built against a BLAS; without one, float products use vt's own loop.
bool available();

// How BLAS reads one rows x cols operand stored with element strides (row_stride, col_stride):
// row-major with leading dimension ld, or its transpose (column-major) with leading dimension ld.
struct Layout {
  bool ok = false;  // neither: the caller makes a contiguous copy
  bool trans = false;
  int64_t ld = 0;
};
Layout layout_of(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride);

// C[i] = alpha * op(A[i]) @ op(B[i]) + beta * C[i] for i < batch, every matrix row-major
// (C: m x n with leading dimension ldc), the i-th at base + i * batch_stride. beta == 0 never
// reads C. Sizes, leading dimensions and batch strides must fit BLAS's 32-bit integers
// (fits_int32); alpha == 0 skips the product, as BLAS does.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c,
          int64_t ldc, int64_t stride_c, int64_t batch);

// sum_i x[i * incx] * y[i * incy], accumulated in T (incx, incy > 0).
template <typename T>
T dot(int64_t n, const T* x, int64_t incx, const T* y, int64_t incy);

inline bool fits_int32(int64_t v) { return v >= 0 && v <= INT32_MAX; }

}  // namespace vt::blas
