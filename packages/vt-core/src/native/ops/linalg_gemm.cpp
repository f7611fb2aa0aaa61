// gemm_into: picks BLAS, float32 via BLAS, or vt's blocked loop by dtype, and lays operands
// out so that BLAS reads them where they are.
#include "ops/linalg_gemm.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "ops/cast.h"
#include "ops/linalg_blas.h"
#include "ops/ops.h"

namespace vt {
namespace {

bool is_zero(const Scalar& s) { return s.to_double() == 0.0; }

// out = beta * out, for products with nothing to add (k == 0 or alpha == 0).
void scale_by_beta(const Tensor& out, const Scalar& beta) {
  if (is_zero(beta)) {
    vt::fill_(out, Scalar(int64_t(0)));
  } else if (beta.to_double() != 1.0) {
    // Integer outputs scale by the truncated factor, as torch's integer addmm does.
    vt::mul_(out, is_floating(out.dtype()) ? Scalar(beta.to_double()) : Scalar(beta.to_int()));
  }
}

// Accumulator of the blocked loop: wrapping 32-bit lanes vectorize, and wrap-around arithmetic
// gives the same low bits as torch's narrower accumulation.
template <typename T>
using loop_acc_t = std::conditional_t<!std::is_integral_v<T>, opmath_t<T>,
                                      std::conditional_t<(sizeof(T) <= 4), int32_t, int64_t>>;

// The blocked loop, for integers and for float types in a build without BLAS. Each task takes
// up to 4 rows of one matrix, so every row of b is read once per 4 output rows.
template <typename T>
void gemm_loop(const Tensor& out, const Tensor& a_in, const Tensor& b_in, const Scalar& beta,
               const Scalar& alpha) {
  using Acc = loop_acc_t<T>;
  constexpr int64_t kRows = 4;
  const Tensor a = vt::contiguous(a_in), b = vt::contiguous(b_in);
  const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = a.size(2);
  const int64_t os0 = out.stride(0), os1 = out.stride(1), os2 = out.stride(2);
  const bool use_beta = !is_zero(beta);
  // Integer products take truncated factors, as torch's integer addmm does.
  const Acc alpha_v = std::is_integral_v<Acc> ? Acc(alpha.to_int()) : Acc(alpha.to_double());
  const Acc beta_v = std::is_integral_v<Acc> ? Acc(beta.to_int()) : Acc(beta.to_double());
  const T* ap = a.data_as<T>();
  const T* bp = b.data_as<T>();
  T* op = out.data_as<T>();
  const int64_t groups = (m + kRows - 1) / kRows;
  const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, kRows * n * k));
  parallel_for(0, batch * groups, grain, [&](int64_t begin, int64_t end) {
    std::vector<Acc> acc(size_t(kRows * n));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t i = task / groups, r0 = (task % groups) * kRows;
      const int64_t rows = std::min(kRows, m - r0);
      const T* ai = ap + (i * m + r0) * k;
      const T* bi = bp + i * k * n;
      std::fill(acc.begin(), acc.end(), Acc(0));
      for (int64_t p = 0; p < k; ++p) {
        const T* brow = bi + p * n;
        for (int64_t r = 0; r < rows; ++r) {
          const Acc av = cast_value<Acc>(ai[r * k + p]);
          Acc* accr = acc.data() + r * n;
          for (int64_t j = 0; j < n; ++j) accr[j] += av * cast_value<Acc>(brow[j]);
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        T* orow = op + i * os0 + (r0 + r) * os1;
        const Acc* accr = acc.data() + r * n;
        for (int64_t j = 0; j < n; ++j) {
          Acc v = alpha_v * accr[j];
          if (use_beta) v += beta_v * cast_value<Acc>(orow[j * os2]);
          orow[j * os2] = cast_value<T>(v);
        }
      }
    }
  });
}

bool fits_blas(const Tensor& t) {
  return blas::fits_int32(t.size(1)) && blas::fits_int32(t.size(2));
}

// The BLAS path for float32/float64.
template <typename T>
void gemm_blas(const Tensor& out, const Tensor& a_in, const Tensor& b_in, const Scalar& beta,
               const Scalar& alpha) {
  const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = a_in.size(2);
  auto readable = [](const Tensor& t, blas::Layout& l) {
    l = blas::layout_of(t.size(1), t.size(2), t.stride(1), t.stride(2));
    if (l.ok) return t;
    Tensor c = vt::contiguous(t);  // a matrix BLAS cannot stride through: one copy
    l = blas::layout_of(c.size(1), c.size(2), c.stride(1), c.stride(2));
    return c;
  };
  blas::Layout la, lb;
  const Tensor a = readable(a_in, la), b = readable(b_in, lb);
  blas::Layout lc = blas::layout_of(m, n, out.stride(1), out.stride(2));
  if (!lc.ok) {
    Tensor tmp = Tensor::empty(DimVector{batch, m, n}, out.dtype(), out.device());
    if (!is_zero(beta)) vt::copy_(tmp, out);
    gemm_blas<T>(tmp, a, b, beta, alpha);
    vt::copy_(out, tmp);
    return;
  }
  auto bstride = [batch](const Tensor& t) { return batch == 1 ? 0 : t.stride(0); };
  const T al = T(alpha.to_double()), be = T(beta.to_double());
  if (!lc.trans) {
    blas::gemm<T>(la.trans, lb.trans, m, n, k, al, a.data_as<T>(), la.ld, bstride(a),
                  b.data_as<T>(), lb.ld, bstride(b), be, out.data_as<T>(), lc.ld, bstride(out),
                  batch);
  } else {
    // A column-major out is the row-major transpose: out^T = b^T @ a^T, nothing copied.
    blas::gemm<T>(!lb.trans, !la.trans, n, m, k, al, b.data_as<T>(), lb.ld, bstride(b),
                  a.data_as<T>(), la.ld, bstride(a), be, out.data_as<T>(), lc.ld, bstride(out),
                  batch);
  }
}

}  // namespace

void gemm_into(const Tensor& out, const Tensor& a, const Tensor& b, const Scalar& beta,
               const Scalar& alpha) {
  if (out.numel() == 0) return;
  if (a.size(2) == 0 || is_zero(alpha)) return scale_by_beta(out, beta);
  const ScalarType dt = out.dtype();
  const bool blas_ok = blas::available() && fits_blas(a) && fits_blas(b) && fits_blas(out);
  if ((dt == ScalarType::Float32 || dt == ScalarType::Float64) && blas_ok) {
    if (dt == ScalarType::Float32) gemm_blas<float>(out, a, b, beta, alpha);
    else gemm_blas<double>(out, a, b, beta, alpha);
  } else if (is_reduced_float(dt) && blas_ok) {
    // 16-bit floats: products and sums in float32, one rounding at the end.
    Tensor c = is_zero(beta) ? Tensor::empty(out.sizes(), ScalarType::Float32, out.device())
                             : vt::to_dtype(out, ScalarType::Float32);
    gemm_into(c, vt::to_dtype(a, ScalarType::Float32), vt::to_dtype(b, ScalarType::Float32),
              beta, alpha);
    vt::copy_(out, c);
  } else {
    VT_INTERNAL_ASSERT(dt != ScalarType::Bool);
    visit_dtype(dt, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) gemm_loop<T>(out, a, b, beta, alpha);
    });
  }
  out.bump_version();
}

}  // namespace vt
