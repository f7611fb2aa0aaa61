// Fused CPU attention for one (batch, head) block at a time: scores by one GEMM into a
// thread-local buffer, masked softmax in place (keeping each row's log-sum-exp), output by a
// second GEMM; the backward recomputes the probabilities from the log-sum-exp and runs four
// GEMMs. No full-size intermediate tensor is allocated, which is what small heads pay for.
#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "dispatch/dispatcher.h"
#include "ops/linalg_blas.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/nn_vec.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

// The batch geometry shared by query, key, value: leading dims equal, rows contiguous.
struct Blocks {
  int64_t count, L, S, E, Ev;
};

Blocks blocks_of(const Tensor& q, const Tensor& k, const Tensor& v, const char* op) {
  VT_CHECK(q.dim() >= 2 && q.dim() == k.dim() && q.dim() == v.dim(), op,
           ": expected query, key and value of the same rank (at least 2)");
  for (int64_t d = 0; d < q.dim() - 2; ++d)
    VT_CHECK(q.size(d) == k.size(d) && q.size(d) == v.size(d), op,
             ": expected query, key and value with the same batch dims");
  VT_CHECK(q.size(-1) == k.size(-1) && k.size(-2) == v.size(-2), op, ": query/key feature sizes or "
           "key/value lengths differ");
  Blocks b{};
  b.L = q.size(-2), b.S = k.size(-2), b.E = q.size(-1), b.Ev = v.size(-1);
  b.count = b.L * b.E ? q.numel() / (b.L * b.E) : 0;
  if (!b.L || !b.E) {
    b.count = 1;
    for (int64_t d = 0; d < q.dim() - 2; ++d) b.count *= q.size(d);
  }
  return b;
}

// Mask value for (block n, row i, column j): 0 keeps, -inf drops, or an additive float.
template <typename A>
struct Masker {
  const Tensor* mask = nullptr;  // expanded to [..., L, S]
  bool is_causal = false;
  int64_t L = 0;
  template <typename T>
  void apply(A* row, int64_t n, int64_t i, int64_t S) const {
    if (is_causal)
      for (int64_t j = i + 1; j < S; ++j) row[j] = -std::numeric_limits<A>::infinity();
    if (!mask) return;
    // Element (n, i, j) of the expanded mask: walk its leading dims from the flat row n * L + i.
    int64_t r = n * L + i, offset = 0;
    for (int64_t d = mask->dim() - 2; d >= 0 && r > 0; --d) {
      offset += (r % mask->sizes()[d]) * mask->strides()[d];
      r /= mask->sizes()[d];
    }
    const int64_t step = mask->strides()[mask->dim() - 1];
    if (mask->dtype() == ScalarType::Bool) {
      const bool* m = mask->data_as<bool>() + offset;
      for (int64_t j = 0; j < S; ++j)
        if (!m[j * step]) row[j] = -std::numeric_limits<A>::infinity();
    } else {
      const T* m = mask->data_as<T>() + offset;
      for (int64_t j = 0; j < S; ++j) row[j] += A(m[j * step]);
    }
  }
};

// Softmax of row in place; returns its log-sum-exp (-inf for a row with nothing to attend to,
// which becomes zeros).
// One block's product c = alpha * op(a) @ op(b), row-major, through BLAS (single-threaded here:
// the blocks are what runs in parallel).
template <typename T>
void block_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                const T* b, int64_t ldb, T* c, int64_t ldc) {
  blas::gemm<T>(trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, T(0), c, ldc, 0, 1);
}

template <typename A>
A softmax_row(A* row, int64_t S) {
  const A top = row_max(row, S);
  if (top == -std::numeric_limits<A>::infinity()) {
    std::fill(row, row + S, A(0));
    return top;
  }
  const A sum = row_sum_exp<true>(row, S, top, row);  // vectorized exp, stored in place
  const A inv = A(1) / sum;
  for (int64_t j = 0; j < S; ++j) row[j] *= inv;
  return top + std::log(sum);
}

template <typename T>
void forward_blocks(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool causal,
                    double scale, const Tensor& out, const Tensor& lse) {
  const Blocks b = blocks_of(q, k, v, "_sdpa_forward");
  Masker<T> masker{mask.defined() ? &mask : nullptr, causal, b.L};
  const T* qp = q.data_as<T>();
  const T* kp = k.data_as<T>();
  const T* vp = v.data_as<T>();
  T* op = out.data_as<T>();
  T* lp = lse.data_as<T>();
  const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(b.L * b.S * std::max(b.E, b.Ev), 1));
  parallel_for(0, b.count, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> scores(size_t(b.L * b.S));
    for (int64_t n = begin; n < end; ++n) {
      block_gemm<T>(false, true, b.L, b.S, b.E, T(scale), qp + n * b.L * b.E, b.E, kp + n * b.S * b.E, b.E,
                    scores.data(), b.S);
      for (int64_t i = 0; i < b.L; ++i) {
        T* row = scores.data() + i * b.S;
        masker.template apply<T>(row, n, i, b.S);
        lp[n * b.L + i] = softmax_row(row, b.S);
      }
      block_gemm<T>(false, false, b.L, b.Ev, b.S, T(1), scores.data(), b.S, vp + n * b.S * b.Ev, b.Ev,
                    op + n * b.L * b.Ev, b.Ev);
    }
  });
}

template <typename T>
void backward_blocks(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                     const Tensor& lse, const Tensor& mask, bool causal, double scale, const Tensor& dq,
                     const Tensor& dk, const Tensor& dv) {
  const Blocks b = blocks_of(q, k, v, "_sdpa_backward");
  Masker<T> masker{mask.defined() ? &mask : nullptr, causal, b.L};
  const T *qp = q.data_as<T>(), *kp = k.data_as<T>(), *vp = v.data_as<T>();
  const T *gp = g.data_as<T>(), *outp = out.data_as<T>(), *lp = lse.data_as<T>();
  T *dqp = dq.data_as<T>(), *dkp = dk.data_as<T>(), *dvp = dv.data_as<T>();
  const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(b.L * b.S * std::max(b.E, b.Ev), 1));
  parallel_for(0, b.count, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> p(size_t(b.L * b.S)), dp(size_t(b.L * b.S));
    for (int64_t n = begin; n < end; ++n) {
      const T *qn = qp + n * b.L * b.E, *kn = kp + n * b.S * b.E, *vn = vp + n * b.S * b.Ev;
      const T *gn = gp + n * b.L * b.Ev, *on = outp + n * b.L * b.Ev;
      block_gemm<T>(false, true, b.L, b.S, b.E, T(scale), qn, b.E, kn, b.E, p.data(), b.S);
      for (int64_t i = 0; i < b.L; ++i) {
        T* row = p.data() + i * b.S;
        masker.template apply<T>(row, n, i, b.S);
        const T l = lp[n * b.L + i];
        if (l == -std::numeric_limits<T>::infinity()) std::fill(row, row + b.S, T(0));
        else row_sum_exp<true>(row, b.S, l, row);
      }
      // dV = P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dO * O)); dQ = s dS K; dK = s dS^T Q.
      block_gemm<T>(true, false, b.S, b.Ev, b.L, T(1), p.data(), b.S, gn, b.Ev, dvp + n * b.S * b.Ev, b.Ev);
      block_gemm<T>(false, true, b.L, b.S, b.Ev, T(1), gn, b.Ev, vn, b.Ev, dp.data(), b.S);
      for (int64_t i = 0; i < b.L; ++i) {
        T d = 0;
        for (int64_t e = 0; e < b.Ev; ++e) d += gn[i * b.Ev + e] * on[i * b.Ev + e];
        T* pr = p.data() + i * b.S;
        T* dr = dp.data() + i * b.S;
        for (int64_t j = 0; j < b.S; ++j) dr[j] = pr[j] * (dr[j] - d);
      }
      block_gemm<T>(false, false, b.L, b.E, b.S, T(scale), dp.data(), b.S, kn, b.E, dqp + n * b.L * b.E, b.E);
      block_gemm<T>(true, false, b.S, b.E, b.L, T(scale), dp.data(), b.S, qn, b.E, dkp + n * b.S * b.E, b.E);
    }
  });
}

Tensor expanded_mask(const std::optional<Tensor>& mask, const Tensor& q, const Tensor& k) {
  if (!mask || !mask->defined()) return Tensor();
  DimVector shape(q.sizes());
  shape[q.dim() - 1] = k.size(-2);
  return expand(*mask, shape);
}

void check_float(const Tensor& q, const char* op) {
  VT_CHECK(q.dtype() == ScalarType::Float32 || q.dtype() == ScalarType::Float64, op,
           ": expected float32 or float64 tensors, got ", dtype_name(q.dtype()));
  VT_CHECK(blas::available(), op, ": needs a BLAS build of vt-core");
}

std::tuple<Tensor, Tensor> sdpa_forward_kernel(const Tensor& query, const Tensor& key, const Tensor& value,
                                               const std::optional<Tensor>& attn_mask, bool is_causal,
                                               double scale) {
  check_float(query, "_sdpa_forward");
  const Tensor q = contiguous(query), k = contiguous(key), v = contiguous(value);
  DimVector out_shape(q.sizes()), lse_shape(q.sizes());
  out_shape[q.dim() - 1] = v.size(-1);
  lse_shape.resize(lse_shape.size() - 1);
  Tensor out = Tensor::empty(out_shape, q.dtype(), q.device());
  Tensor lse = Tensor::empty(lse_shape, q.dtype(), q.device());
  const Tensor mask = expanded_mask(attn_mask, q, k);
  if (q.dtype() == ScalarType::Float32) forward_blocks<float>(q, k, v, mask, is_causal, scale, out, lse);
  else forward_blocks<double>(q, k, v, mask, is_causal, scale, out, lse);
  return {out, lse};
}

std::tuple<Tensor, Tensor, Tensor> sdpa_backward_kernel(const Tensor& grad, const Tensor& query,
                                                        const Tensor& key, const Tensor& value,
                                                        const Tensor& out, const Tensor& lse,
                                                        const std::optional<Tensor>& attn_mask,
                                                        bool is_causal, double scale) {
  check_float(query, "_sdpa_backward");
  const Tensor q = contiguous(query), k = contiguous(key), v = contiguous(value);
  const Tensor g = contiguous(to_dtype(grad, q.dtype())), o = contiguous(out), l = contiguous(lse);
  Tensor dq = Tensor::empty(q.sizes(), q.dtype(), q.device());
  Tensor dk = Tensor::empty(k.sizes(), q.dtype(), q.device());
  Tensor dv = Tensor::empty(v.sizes(), q.dtype(), q.device());
  const Tensor mask = expanded_mask(attn_mask, q, k);
  if (q.dtype() == ScalarType::Float32) backward_blocks<float>(g, q, k, v, o, l, mask, is_causal, scale, dq, dk, dv);
  else backward_blocks<double>(g, q, k, v, o, l, mask, is_causal, scale, dq, dk, dv);
  return {dq, dk, dv};
}

}  // namespace

void register_fused_attention_ops() {
  define_kernel("vt::_sdpa_forward(Tensor query, Tensor key, Tensor value, Tensor? attn_mask, bool is_causal, "
                "float scale) -> (Tensor, Tensor)", VT_DEVICE_CPU, &sdpa_forward_kernel);
  define_kernel("vt::_sdpa_backward(Tensor grad_out, Tensor query, Tensor key, Tensor value, Tensor out, "
                "Tensor lse, Tensor? attn_mask, bool is_causal, float scale) -> (Tensor, Tensor, Tensor)",
                VT_DEVICE_CPU, &sdpa_backward_kernel);
}

}  // namespace nn

std::tuple<Tensor, Tensor> sdpa_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                        const std::optional<Tensor>& attn_mask, bool is_causal, double scale) {
  static const OpHandle<std::tuple<Tensor, Tensor>(const Tensor&, const Tensor&, const Tensor&,
                                                   const std::optional<Tensor>&, bool, double)>
      op("vt::_sdpa_forward");
  return op(q, k, v, attn_mask, is_causal, scale);
}

}  // namespace vt
