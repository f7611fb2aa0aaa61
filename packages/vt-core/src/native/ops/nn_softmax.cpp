// softmax and log_softmax along one dim. The input is seen as (outer, dim, inner): inner == 1
// runs contiguous rows, anything else runs blocks of inner positions side by side so the loads
// stay contiguous. Stable (the maximum is subtracted before exp); 16-bit floats in float.
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "dispatch/dispatcher.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

// 16-bit rows are widened into a float buffer, run through the float path in place, and
// narrowed back, so every pass is vectorized.
template <bool kLog, typename T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  using A = opmath_t<T>;
  constexpr bool kWiden = !std::is_same_v<T, A>;
  parallel_for(0, rows, std::max<int64_t>(1, kGrainSize / n), [&](int64_t begin, int64_t end) {
    std::vector<A> buffer(kWiden ? size_t(n) : 0);
    for (int64_t r = begin; r < end; ++r) {
      const A* xr;
      A* yr;
      if constexpr (kWiden) {
        widen(x + r * n, buffer.data(), n);
        xr = yr = buffer.data();
      } else {
        xr = x + r * n, yr = y + r * n;
      }
      const A m = row_max(xr, n);
      if constexpr (kLog) {
        const A log_sum = std::log(row_sum_exp<false>(xr, n, m, static_cast<A*>(nullptr)));
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] - m - log_sum;
      } else {
        const A inv = A(1) / row_sum_exp<true>(xr, n, m, yr);
        for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
      }
      if constexpr (kWiden) narrow(buffer.data(), y + r * n, n);
    }
  });
}

// dim is not the last: each task takes up to kBlock neighbouring inner positions of one outer
// index and walks dim with contiguous loads of the whole block.
template <bool kLog, typename T>
void softmax_blocks(const T* x, T* y, DimGeometry g) {
  using A = opmath_t<T>;
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (g.inner + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, kGrainSize / (g.dim * std::min(g.inner, kBlock)));
  parallel_for(0, g.outer * blocks, grain, [&](int64_t begin, int64_t end) {
    A m[kBlock], s[kBlock], e[kBlock];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / blocks, j0 = (task % blocks) * kBlock;
      const int64_t w = std::min(kBlock, g.inner - j0);
      const T* xb = x + o * g.dim * g.inner + j0;
      T* yb = y + o * g.dim * g.inner + j0;
      std::fill(m, m + w, -std::numeric_limits<A>::infinity());
      std::fill(s, s + w, A(0));
      for (int64_t d = 0; d < g.dim; ++d) max_into(xb + d * g.inner, m, w);
      for (int64_t d = 0; d < g.dim; ++d) {
        exp_minus(xb + d * g.inner, m, e, w);
        for (int64_t j = 0; j < w; ++j) s[j] += e[j];
        if constexpr (!kLog && std::is_same_v<T, A>) std::copy(e, e + w, yb + d * g.inner);
      }
      if constexpr (kLog) {
        for (int64_t j = 0; j < w; ++j) s[j] = std::log(s[j]);
      } else {
        for (int64_t j = 0; j < w; ++j) s[j] = A(1) / s[j];
      }
      for (int64_t d = 0; d < g.dim; ++d) {
        const T* xr = xb + d * g.inner;
        T* yr = yb + d * g.inner;
        if constexpr (std::is_same_v<T, A>) {
          if constexpr (kLog) for (int64_t j = 0; j < w; ++j) yr[j] = xr[j] - m[j] - s[j];
          else for (int64_t j = 0; j < w; ++j) yr[j] *= s[j];
        } else {
          // 16-bit outputs: recompute the exponentials rather than keep a float copy of the block.
          if constexpr (kLog) {
            widen(xr, e, w);
            for (int64_t j = 0; j < w; ++j) e[j] = e[j] - m[j] - s[j];
          } else {
            exp_minus(xr, m, e, w);
            for (int64_t j = 0; j < w; ++j) e[j] *= s[j];
          }
          narrow(e, yr, w);
        }
      }
    }
  });
}

template <bool kLog>
Tensor softmax_common(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype) {
  const char* name = kLog ? "log_softmax" : "softmax";
  Tensor input = dtype && *dtype != self.dtype() ? to_dtype(self, *dtype) : self;
  // A 0-dim tensor takes dim 0 or -1, as in torch.
  const int64_t d = input.dim() == 0 ? (wrap_dim(dim, 1, name), 0) : wrap_dim(dim, input.dim(), name);
  if (!is_floating(input.dtype())) raise_dtype_not_implemented(name, input.dtype());
  input = contiguous(input);
  Tensor out = Tensor::empty(input.sizes(), input.dtype(), input.device());
  if (out.numel() == 0) return out;
  const DimGeometry g = input.dim() == 0 ? DimGeometry{} : dim_geometry(input, d);
  visit_dtype(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<opmath_t<T>>) {
      if (g.inner == 1) softmax_rows<kLog>(input.data_as<T>(), out.data_as<T>(), g.outer, g.dim);
      else softmax_blocks<kLog>(input.data_as<T>(), out.data_as<T>(), g);
    }
  });
  return out;
}

Tensor softmax_kernel(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype) {
  return softmax_common<false>(self, dim, dtype);
}
Tensor log_softmax_kernel(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype) {
  return softmax_common<true>(self, dim, dtype);
}

}  // namespace

void register_softmax_ops() {
  define_kernel("vt::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &softmax_kernel);
  define_kernel("vt::log_softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &log_softmax_kernel);
}

}  // namespace nn

Tensor softmax(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype) {
  static const OpHandle<Tensor(const Tensor&, int64_t, std::optional<ScalarType>)> op("vt::softmax.int");
  return op(self, dim, dtype);
}
Tensor log_softmax(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype) {
  static const OpHandle<Tensor(const Tensor&, int64_t, std::optional<ScalarType>)> op("vt::log_softmax.int");
  return op(self, dim, dtype);
}

}  // namespace vt
