// Fused CPU attention for one (batch, head) block at a time: scores by one GEMM into a
// thread-local buffer, masked softmax in place (keeping each row's log-sum-exp), output by a
// second GEMM; the backward recomputes the probabilities (from the log-sum-exp when it has one)
// and runs four GEMMs. No full-size intermediate tensor is allocated, which is what small heads
// pay for, and head-split views are read and written in place (the GEMMs take row strides).
#include <algorithm>
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
  b.count = b.L * b.E != 0 ? q.numel() / (b.L * b.E) : 0;
  if (!b.L || !b.E) {
    b.count = 1;
    for (int64_t d = 0; d < q.dim() - 2; ++d) b.count *= q.size(d);
  }
  return b;
}

// One operand's (batch, head) blocks: where block n starts and its row stride. Rows may be
// strided (q, k, v are usually views that split heads out of a projection's rows), columns not.
template <typename T>
struct BlockRef {
  T* base = nullptr;
  std::vector<int64_t> offset;
  int64_t ld = 0;
  T* at(int64_t n) const { return base + offset[size_t(n)]; }
};

template <typename T>
BlockRef<T> block_ref(const Tensor& t, int64_t count) {
  BlockRef<T> r{t.data_as<T>(), std::vector<int64_t>(size_t(count)), std::max<int64_t>(t.stride(-2), t.size(-1))};
  for (int64_t n = 0; n < count; ++n) {
    int64_t rest = n, off = 0;
    for (int64_t d = t.dim() - 3; d >= 0; --d) {
      off += (rest % t.size(d)) * t.stride(d);
      rest /= t.size(d);
    }
    r.offset[size_t(n)] = off;
  }
  return r;
}

// t itself when its blocks are readable as strided matrices (last dim contiguous, rows apart),
// else a contiguous copy.
Tensor blockwise(const Tensor& t) {
  const bool ok = t.stride(-1) == 1 && (t.size(-2) <= 1 || t.stride(-2) >= t.size(-1));
  return ok ? t : contiguous(t);
}

// The order in which t's dims lie in memory, outermost first (the last dim stays last).
DimVector memory_order(const Tensor& t) {
  DimVector order;
  for (int64_t k = 0; k < t.dim() - 1; ++k) order.push_back(k);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return t.stride(a) > t.stride(b); });
  order.push_back(t.dim() - 1);
  return order;
}

// An empty tensor of the given sizes whose dims lie in memory in the order of like's: a
// head-split view in, a head-split layout out, so the caller's transpose back is free.
Tensor empty_laid_out_like(const Tensor& like, IntArrayRef sizes) {
  const int64_t d = like.dim();
  const DimVector order = memory_order(like);
  DimVector permuted, inverse(d);
  for (int64_t k = 0; k < d; ++k) permuted.push_back(sizes[size_t(order[size_t(k)])]), inverse[order[size_t(k)]] = k;
  return permute(Tensor::empty(permuted, like.dtype(), like.device()), inverse);
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

// One block's product c = alpha * op(a) @ op(b), row-major, through BLAS (single-threaded here:
// the blocks are what runs in parallel).
template <typename T>
void block_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                const T* b, int64_t ldb, T* c, int64_t ldc) {
  blas::gemm<T>(trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, T(0), c, ldc, 0, 1);
}

// Softmax of row in place over its first n entries (the rest are masked out, -inf: zeros);
// returns the log-sum-exp (-inf for a row with nothing to attend to, which becomes zeros).
template <typename A>
A softmax_row(A* row, int64_t n, int64_t S) {
  std::fill(row + n, row + S, A(0));
  const A top = row_max(row, n);
  if (top == -std::numeric_limits<A>::infinity()) {
    std::fill(row, row + n, A(0));
    return top;
  }
  const A sum = row_sum_exp<true>(row, n, top, row);  // vectorized exp, stored in place
  const A inv = A(1) / sum;
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
  return top + std::log(sum);
}

// The entries of row i that a causal mask keeps (all S without one): exps of the masked rest
// would be zeros, half of a square block's work.
inline int64_t kept(bool causal, int64_t i, int64_t S) { return causal ? std::min(S, i + 1) : S; }

template <typename T>
void forward_blocks(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool causal,
                    double scale, const Tensor& out, const Tensor& lse) {
  const Blocks b = blocks_of(q, k, v, "_sdpa_forward");
  Masker<T> masker{mask.defined() ? &mask : nullptr, causal, b.L};
  const auto qb = block_ref<const T>(q, b.count), kb = block_ref<const T>(k, b.count), vb = block_ref<const T>(v, b.count);
  const auto ob = block_ref<T>(out, b.count);
  T* lp = lse.data_as<T>();
  const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(b.L * b.S * std::max(b.E, b.Ev), 1));
  parallel_for(0, b.count, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> scores(size_t(b.L * b.S));
    for (int64_t n = begin; n < end; ++n) {
      block_gemm<T>(false, true, b.L, b.S, b.E, T(scale), qb.at(n), qb.ld, kb.at(n), kb.ld, scores.data(), b.S);
      for (int64_t i = 0; i < b.L; ++i) {
        T* row = scores.data() + i * b.S;
        masker.template apply<T>(row, n, i, b.S);
        lp[n * b.L + i] = softmax_row(row, kept(causal, i, b.S), b.S);
      }
      block_gemm<T>(false, false, b.L, b.Ev, b.S, T(1), scores.data(), b.S, vb.at(n), vb.ld, ob.at(n), ob.ld);
    }
  });
}

// out and lse are optional: without lse each block's softmax is recomputed from its scores, and
// without out rowsum(dO * O) is taken as the equal rowsum(P * dP), so a backward needs no forward
// pass first.
template <typename T>
void backward_blocks(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                     const Tensor& lse, const Tensor& mask, bool causal, double scale, const Tensor& dq,
                     const Tensor& dk, const Tensor& dv) {
  const Blocks b = blocks_of(q, k, v, "_sdpa_backward");
  Masker<T> masker{mask.defined() ? &mask : nullptr, causal, b.L};
  const auto qb = block_ref<const T>(q, b.count), kb = block_ref<const T>(k, b.count), vb = block_ref<const T>(v, b.count);
  const auto gb = block_ref<const T>(g, b.count);
  const auto ob = out.defined() ? block_ref<const T>(out, b.count) : BlockRef<const T>{};
  const auto dqb = block_ref<T>(dq, b.count), dkb = block_ref<T>(dk, b.count), dvb = block_ref<T>(dv, b.count);
  const T* lp = lse.defined() ? lse.data_as<T>() : nullptr;
  const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(b.L * b.S * std::max(b.E, b.Ev), 1));
  parallel_for(0, b.count, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> p(size_t(b.L * b.S)), dp(size_t(b.L * b.S));
    for (int64_t n = begin; n < end; ++n) {
      const T *qn = qb.at(n), *kn = kb.at(n), *vn = vb.at(n), *gn = gb.at(n);
      const T* on = ob.base ? ob.at(n) : nullptr;
      block_gemm<T>(false, true, b.L, b.S, b.E, T(scale), qn, qb.ld, kn, kb.ld, p.data(), b.S);
      for (int64_t i = 0; i < b.L; ++i) {
        T* row = p.data() + i * b.S;
        masker.template apply<T>(row, n, i, b.S);
        if (!lp) {
          softmax_row(row, kept(causal, i, b.S), b.S);
          continue;
        }
        const T l = lp[n * b.L + i];
        const int64_t n_kept = kept(causal, i, b.S);
        std::fill(row + n_kept, row + b.S, T(0));
        if (l == -std::numeric_limits<T>::infinity()) std::fill(row, row + n_kept, T(0));
        else row_sum_exp<true>(row, n_kept, l, row);
      }
      // dV = P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dO * O)); dQ = s dS K; dK = s dS^T Q.
      block_gemm<T>(true, false, b.S, b.Ev, b.L, T(1), p.data(), b.S, gn, gb.ld, dvb.at(n), dvb.ld);
      block_gemm<T>(false, true, b.L, b.S, b.Ev, T(1), gn, gb.ld, vn, vb.ld, dp.data(), b.S);
      for (int64_t i = 0; i < b.L; ++i) {
        T* pr = p.data() + i * b.S;
        T* dr = dp.data() + i * b.S;
        T d = 0;
        if (on) for (int64_t e = 0; e < b.Ev; ++e) d += gn[i * gb.ld + e] * on[i * ob.ld + e];
        else for (int64_t j = 0; j < b.S; ++j) d += pr[j] * dr[j];
        for (int64_t j = 0; j < b.S; ++j) dr[j] = pr[j] * (dr[j] - d);
      }
      block_gemm<T>(false, false, b.L, b.E, b.S, T(scale), dp.data(), b.S, kn, kb.ld, dqb.at(n), dqb.ld);
      block_gemm<T>(true, false, b.S, b.E, b.L, T(scale), dp.data(), b.S, qn, qb.ld, dkb.at(n), dkb.ld);
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
  blocks_of(query, key, value, "_sdpa_forward");  // rank and size checks before any shape arithmetic
  const Tensor q = blockwise(query), k = blockwise(key), v = blockwise(value);
  DimVector out_shape(q.sizes()), lse_shape(q.sizes());
  out_shape[q.dim() - 1] = v.size(-1);
  lse_shape.resize(lse_shape.size() - 1);
  // The output takes the layout of query, key and value when they share one (as torch's does),
  // else the contiguous one.
  const DimVector order = memory_order(q);
  const bool shared = same_shape(order, memory_order(k)) && same_shape(order, memory_order(v));
  Tensor out = shared ? empty_laid_out_like(q, out_shape) : Tensor::empty(out_shape, q.dtype(), q.device());
  Tensor lse = Tensor::empty(lse_shape, q.dtype(), q.device());
  const Tensor mask = expanded_mask(attn_mask, q, k);
  if (q.dtype() == ScalarType::Float32) forward_blocks<float>(q, k, v, mask, is_causal, scale, out, lse);
  else forward_blocks<double>(q, k, v, mask, is_causal, scale, out, lse);
  return {out, lse};
}

std::tuple<Tensor, Tensor, Tensor> sdpa_backward_kernel(const Tensor& grad, const Tensor& query,
                                                        const Tensor& key, const Tensor& value,
                                                        const std::optional<Tensor>& out,
                                                        const std::optional<Tensor>& lse,
                                                        const std::optional<Tensor>& attn_mask,
                                                        bool is_causal, double scale) {
  check_float(query, "_sdpa_backward");
  blocks_of(query, key, value, "_sdpa_backward");  // rank and size checks before any shape arithmetic
  const Tensor q = blockwise(query), k = blockwise(key), v = blockwise(value);
  const Tensor o = out && out->defined() ? blockwise(*out) : Tensor();
  const Tensor l = lse && lse->defined() ? contiguous(*lse) : Tensor();
  const Tensor g = blockwise(grad.dtype() == q.dtype() ? grad : to_dtype(grad, q.dtype()));
  DimVector out_shape(q.sizes()), lse_shape(q.sizes());
  out_shape[q.dim() - 1] = v.size(-1);
  lse_shape.resize(lse_shape.size() - 1);
  VT_CHECK(same_shape(g.sizes(), out_shape) && (!o.defined() || same_shape(o.sizes(), out_shape)) &&
           (!l.defined() || same_shape(l.sizes(), lse_shape)), "_sdpa_backward: expected grad_out and out of "
           "shape ", shape_string(out_shape), " and lse of shape ", shape_string(lse_shape));
  Tensor dq = empty_laid_out_like(q, q.sizes()), dk = empty_laid_out_like(k, k.sizes());
  Tensor dv = empty_laid_out_like(v, v.sizes());
  const Tensor mask = expanded_mask(attn_mask, q, k);
  if (q.dtype() == ScalarType::Float32) backward_blocks<float>(g, q, k, v, o, l, mask, is_causal, scale, dq, dk, dv);
  else backward_blocks<double>(g, q, k, v, o, l, mask, is_causal, scale, dq, dk, dv);
  return {dq, dk, dv};
}

}  // namespace

void register_fused_attention_ops() {
  define_kernel("vt::_sdpa_forward(Tensor query, Tensor key, Tensor value, Tensor? attn_mask, bool is_causal, "
                "float scale) -> (Tensor, Tensor)", VT_DEVICE_CPU, &sdpa_forward_kernel);
  define_kernel("vt::_sdpa_backward(Tensor grad_out, Tensor query, Tensor key, Tensor value, Tensor? out, "
                "Tensor? lse, Tensor? attn_mask, bool is_causal, float scale) -> (Tensor, Tensor, Tensor)",
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
