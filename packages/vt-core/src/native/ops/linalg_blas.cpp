// OpenBLAS calls, partitioned over vt's thread pool.
//
// Threading: OpenBLAS runs single-threaded and vt's parallel_for splits every product into
// per-thread GEMMs (batches first, then row or column blocks). One pool then governs all CPU
// parallelism, so set_num_threads is honoured exactly, and a product called from inside a
// parallel_for (a per-sample loop in a conv, say) runs inline on its thread instead of
// oversubscribing the cores with a second pool of BLAS threads.
#include "ops/linalg_blas.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/thread_pool.h"

#if VT_HAVE_BLAS
#include <cblas.h>
#endif

namespace vt::blas {

Layout layout_of(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  // A stride along a dimension of size 1 is never used: any legal value will do.
  if (cols == 1 || col_stride == 1) {
    int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : row_stride;
    if (ld >= std::max<int64_t>(cols, 1) && fits_int32(ld)) return {true, false, ld};
  }
  if (rows == 1 || row_stride == 1) {
    int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : col_stride;
    if (ld >= std::max<int64_t>(rows, 1) && fits_int32(ld)) return {true, true, ld};
  }
  return {};
}

#if VT_HAVE_BLAS

namespace {

// Set once when libvt_core loads (OpenBLAS, a dependency, is initialised before us).
[[maybe_unused]] const bool g_single_threaded = (scipy_openblas_set_num_threads(1), true);

// Below this many multiply-adds a product is not worth waking the pool for.
constexpr double kParallelWork = 1 << 17;
// Row or column blocks are kept at least this wide: BLAS kernels pack 16-32 wide panels.
constexpr int64_t kMinBlock = 64;

void call_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc) {
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void call_gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
               const double* b, int ldb, double beta, double* c, int ldc) {
  scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Several whole matrices in one call: OpenBLAS skips its per-call setup between them.
void call_gemm_batch(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                     int sa, const float* b, int ldb, int sb, float beta, float* c, int ldc,
                     int sc, int count) {
  scipy_cblas_sgemm_batch_strided(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                                  tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, sa, b,
                                  ldb, sb, beta, c, ldc, sc, count);
}
void call_gemm_batch(bool ta, bool tb, int m, int n, int k, double alpha, const double* a,
                     int lda, int sa, const double* b, int ldb, int sb, double beta, double* c,
                     int ldc, int sc, int count) {
  scipy_cblas_dgemm_batch_strided(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                                  tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, sa, b,
                                  ldb, sb, beta, c, ldc, sc, count);
}

}  // namespace

bool available() { return true; }

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c,
          int64_t ldc, int64_t stride_c, int64_t batch) {
  if (batch == 0 || m == 0 || n == 0) return;
  // Blocks per matrix: only when whole matrices cannot share the threads evenly (a batch of
  // 3 on 2 threads runs as 6 half matrices, 3 per thread). Nested calls run inline, unsplit.
  const bool small = double(m) * double(n) * double(k) * double(batch) < kParallelWork;
  const int64_t threads = small || in_parallel_region() ? 1 : num_threads();
  int64_t blocks =
      batch % threads == 0 || batch >= 8 * threads ? 1 : threads / std::gcd(batch, threads);
  const bool split_rows = m >= n;
  const int64_t extent = split_rows ? m : n;
  blocks = std::max<int64_t>(1, std::min(blocks, extent / kMinBlock));
  const int64_t block = (extent + blocks - 1) / blocks;
  const bool strides_fit = fits_int32(stride_a) && fits_int32(stride_b) && fits_int32(stride_c);
  parallel_for(0, batch * blocks, 1, [&](int64_t begin, int64_t end) {
    if (blocks == 1 && end - begin > 1 && strides_fit && fits_int32(end - begin)) {
      return call_gemm_batch(trans_a, trans_b, int(m), int(n), int(k), alpha, a + begin * stride_a,
                             int(lda), int(stride_a), b + begin * stride_b, int(ldb),
                             int(stride_b), beta, c + begin * stride_c, int(ldc), int(stride_c),
                             int(end - begin));
    }
    for (int64_t task = begin; task < end; ++task) {
      int64_t i = task / blocks, lo = (task % blocks) * block;
      int64_t len = std::min(block, extent - lo);
      if (len <= 0) continue;
      const T* ai = a + i * stride_a;
      const T* bi = b + i * stride_b;
      T* ci = c + i * stride_c;
      if (split_rows) {
        call_gemm(trans_a, trans_b, int(len), int(n), int(k), alpha, ai + (trans_a ? lo : lo * lda),
                  int(lda), bi, int(ldb), beta, ci + lo * ldc, int(ldc));
      } else {
        call_gemm(trans_a, trans_b, int(m), int(len), int(k), alpha, ai, int(lda),
                  bi + (trans_b ? lo * ldb : lo), int(ldb), beta, ci + lo, int(ldc));
      }
    }
  });
}

template <typename T>
T dot(int64_t n, const T* x, int64_t incx, const T* y, int64_t incy) {
  // OpenBLAS takes 32-bit counts: longer vectors go in pieces.
  T total = 0;
  for (int64_t done = 0; done < n;) {
    int len = int(std::min<int64_t>(n - done, INT32_MAX));
    if constexpr (std::is_same_v<T, float>)
      total += scipy_cblas_sdot(len, x + done * incx, int(incx), y + done * incy, int(incy));
    else
      total += scipy_cblas_ddot(len, x + done * incx, int(incx), y + done * incy, int(incy));
    done += len;
  }
  return total;
}

#else  // no BLAS in this build: the tensor-level code uses vt's own loop instead.

bool available() { return false; }

template <typename T>
void gemm(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t, const T*, int64_t,
          int64_t, T, T*, int64_t, int64_t, int64_t) {
  fail(VT_ERROR_INTERNAL, "blas::gemm called in a build without BLAS");
}

template <typename T>
T dot(int64_t, const T*, int64_t, const T*, int64_t) {
  fail(VT_ERROR_INTERNAL, "blas::dot called in a build without BLAS");
}

#endif

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          int64_t, const float*, int64_t, int64_t, float, float*, int64_t,
                          int64_t, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           int64_t, const double*, int64_t, int64_t, double, double*, int64_t,
                           int64_t, int64_t);
template float dot<float>(int64_t, const float*, int64_t, const float*, int64_t);
template double dot<double>(int64_t, const double*, int64_t, const double*, int64_t);

}  // namespace vt::blas
