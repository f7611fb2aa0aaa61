// scaled_dot_product_attention as two GEMMs through vt's matmul around one fused pass per score
// row: causal / boolean / additive masking and a stable softmax in which a row with nothing to
// attend to becomes zeros (torch's safe softmax) instead of NaN.
#include <cmath>
#include <vector>

#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

// Byte offset of row r of a tensor whose last dim is the row, for any strides.
int64_t row_offset(const Tensor& t, int64_t r) {
  int64_t offset = 0;
  for (int64_t d = t.dim() - 2; d >= 0 && r > 0; --d) {
    offset += (r % t.sizes()[d]) * t.strides()[d];
    r /= t.sizes()[d];
  }
  return offset * t.itemsize();
}

// scores (contiguous [..., L, S]) <- masked softmax over its last dim, in place.
template <typename T>
void masked_softmax_(const Tensor& scores, const Tensor& mask, bool is_causal) {
  using A = opmath_t<T>;
  const int64_t S = scores.sizes()[scores.dim() - 1], L = scores.sizes()[scores.dim() - 2];
  const int64_t rows = S == 0 ? 0 : scores.numel() / S;
  const bool bool_mask = mask.defined() && mask.dtype() == ScalarType::Bool;
  const int64_t mask_step = mask.defined() ? mask.strides()[mask.dim() - 1] : 0;
  T* base = scores.data_as<T>();
  parallel_for(0, rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(S, 1)), [&](int64_t b, int64_t e) {
    std::vector<A> row(static_cast<size_t>(S));
    for (int64_t r = b; r < e; ++r) {
      T* x = base + r * S;
      const int64_t i = r % L;
      const char* m = mask.defined() ? mask.data() + row_offset(mask, r) : nullptr;
      for (int64_t j = 0; j < S; ++j) {
        A v = A(x[j]);
        if (m && bool_mask && !reinterpret_cast<const bool*>(m)[j * mask_step]) v = -std::numeric_limits<A>::infinity();
        else if (m && !bool_mask) v += A(reinterpret_cast<const T*>(m)[j * mask_step]);
        if (is_causal && j > i) v = -std::numeric_limits<A>::infinity();
        row[size_t(j)] = v;
      }
      const A top = row_max(row.data(), S);
      if (top == -std::numeric_limits<A>::infinity()) {
        std::fill(x, x + S, T(0));
        continue;
      }
      const A inv = A(1) / row_sum_exp<true>(row.data(), S, top, row.data());
      for (int64_t j = 0; j < S; ++j) x[j] = T(row[size_t(j)] * inv);
    }
  });
}

// [..., Hkv, S, E] -> [..., Hkv * repeats, S, E], each head repeated in place (repeat_interleave).
Tensor repeat_heads(const Tensor& t, int64_t repeats) {
  if (repeats == 1) return t;
  DimVector shape(t.sizes());
  Tensor u = unsqueeze(t, t.dim() - 2);
  DimVector expanded(u.sizes());
  expanded[u.dim() - 3] = repeats;
  shape[t.dim() - 3] *= repeats;
  return reshape(expand(u, expanded), shape);
}

Tensor sdpa_kernel(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& attn_mask,
                   double dropout_p, bool is_causal, std::optional<double> scale, bool enable_gqa) {
  VT_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, "Expected query, key, and value to all be at least 2 "
           "dimensional, but got query.dim: ", q.dim(), " key.dim: ", k.dim(), " and value.dim: ", v.dim(), " instead.");
  VT_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(), "Expected query, key, and value to have the same "
           "dtype, but got query.dtype: ", dtype_name(q.dtype()), " key.dtype: ", dtype_name(k.dtype()),
           " and value.dtype: ", dtype_name(v.dtype()), " instead.");
  VT_CHECK(is_floating(q.dtype()), "scaled_dot_product_attention: expected floating point query, key and value, "
           "but got ", dtype_name(q.dtype()));
  const bool has_mask = attn_mask && attn_mask->defined();
  if (has_mask)
    VT_CHECK(attn_mask->dtype() == ScalarType::Bool || attn_mask->dtype() == q.dtype(), "Expected attn_mask dtype "
             "to be bool or float or to match query dtype, but got attn_mask.dtype: ", dtype_name(attn_mask->dtype()),
             " and query.dtype: ", dtype_name(q.dtype()), " instead.");
  VT_CHECK(!(has_mask && is_causal), "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
           "is_causal=True");
  VT_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, "dropout probability has to be between 0 and 1, but got ", dropout_p);
  Tensor key = k, value = v;
  if (enable_gqa && q.dim() >= 3 && k.dim() >= 3 && v.dim() >= 3) {
    const int64_t hq = q.size(-3), hk = k.size(-3), hv = v.size(-3);
    VT_CHECK(hk > 0 && hv > 0 && hq % hk == 0 && hq % hv == 0,
             "Number of heads in key and value must divide the number of heads in query");
    key = repeat_heads(k, hq / hk);
    value = repeat_heads(v, hq / hv);
  }
  // 16-bit inputs run in float32 end to end (scores, softmax, both products) and round once,
  // as torch's CPU attention kernels accumulate in float.
  const ScalarType dt = q.dtype(), ct = is_reduced_float(dt) ? ScalarType::Float32 : dt;
  auto up = [ct](const Tensor& t) { return t.dtype() == ct || t.dtype() == ScalarType::Bool ? t : to_dtype(t, ct); };
  const double s = scale ? *scale : 1.0 / std::sqrt(double(q.size(-1)));
  bool same_batch = q.dim() == key.dim() && q.dim() == value.dim();
  for (int64_t d = 0; same_batch && d < q.dim() - 2; ++d)
    same_batch = q.size(d) == key.size(d) && q.size(d) == value.size(d);
  if (dropout_p == 0.0 && same_batch && q.numel() && key.numel()) {
    // One fused pass per (batch, head): no full-size score tensor.
    const std::optional<Tensor> m = has_mask ? std::optional<Tensor>(up(*attn_mask)) : std::nullopt;
    const Tensor out = std::get<0>(sdpa_forward(up(q), up(key), up(value), m, is_causal, s));
    return out.dtype() == dt ? out : to_dtype(out, dt);
  }
  Tensor scores = contiguous(matmul(mul(up(q), Scalar(s)), transpose(up(key), -2, -1)));
  const Tensor mask = has_mask ? expand(up(*attn_mask), scores.sizes()) : Tensor();
  visit_dtype(ct, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) masked_softmax_<T>(scores, mask, is_causal);
  });
  if (dropout_p > 0.0) scores = dropout(scores, dropout_p, true);
  const Tensor out = matmul(scores, up(value));
  return out.dtype() == dt ? out : to_dtype(out, dt);
}

}  // namespace

void register_attention_ops() {
  define_kernel("vt::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None, "
                "float dropout_p=0.0, bool is_causal=False, *, float? scale=None, bool enable_gqa=False) -> Tensor",
                VT_DEVICE_CPU, &sdpa_kernel);
}

}  // namespace nn

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const std::optional<Tensor>& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale, bool enable_gqa) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, const Tensor&, const std::optional<Tensor>&, double,
                               bool, std::optional<double>, bool)>
      op("vt::scaled_dot_product_attention");
  return op(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa);
}

}  // namespace vt
