// Backward of softmax and log_softmax from the forward's output y, one pass per row (or per
// block of inner positions) instead of a composition of full-size ops:
//   softmax:     dx = y * (g - sum(g * y))
//   log_softmax: dx = g - exp(y) * sum(g)
// 16-bit floats compute in float and round once.
#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "dispatch/dispatcher.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

// sum(g * y) over a contiguous row.
template <typename T, typename A = opmath_t<T>>
A row_dot(const T* g, const T* y, int64_t n) {
  constexpr int W = kWidth<A>;
  vec<A> s0 = {}, s1 = {};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += load<A>(g + i) * load<A>(y + i);
    s1 += load<A>(g + i + W) * load<A>(y + i + W);
  }
  s0 += s1;
  A s = 0;
  for (int l = 0; l < W; ++l) s += s0[l];
  for (; i < n; ++i) s += A(g[i]) * A(y[i]);
  return s;
}

// One row's dx into out (of type A; 16-bit rows are narrowed by the caller).
template <bool kLog, typename T, typename A = opmath_t<T>>
void backward_row(const T* g, const T* y, A* out, int64_t n) {
  if constexpr (kLog) {
    constexpr int W = kWidth<A>;
    const A s = row_sum(g, n);
    int64_t i = 0;
    for (; i + W <= n; i += W) store(out + i, load<A>(g + i) - exp_vec(load<A>(y + i)) * s);
    for (; i < n; ++i) out[i] = A(g[i]) - exp_acc(A(y[i])) * s;
  } else {
    const A d = row_dot(g, y, n);
    for (int64_t i = 0; i < n; ++i) out[i] = A(y[i]) * (A(g[i]) - d);
  }
}

template <bool kLog, typename T>
void backward_rows(const T* g, const T* y, T* dx, int64_t rows, int64_t n) {
  using A = opmath_t<T>;
  constexpr bool kWiden = !std::is_same_v<T, A>;
  parallel_for(0, rows, std::max<int64_t>(1, kGrainSize / n), [&](int64_t begin, int64_t end) {
    std::vector<A> buffer(kWiden ? size_t(n) : 0);
    for (int64_t r = begin; r < end; ++r) {
      if constexpr (kWiden) {
        backward_row<kLog>(g + r * n, y + r * n, buffer.data(), n);
        narrow(buffer.data(), dx + r * n, n);
      } else {
        backward_row<kLog>(g + r * n, y + r * n, dx + r * n, n);
      }
    }
  });
}

// dim is not the last: blocks of up to kBlock neighbouring inner positions, the sums over dim
// kept per position.
template <bool kLog, typename T>
void backward_blocks(const T* g, const T* y, T* dx, DimGeometry geo) {
  using A = opmath_t<T>;
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (geo.inner + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, kGrainSize / (geo.dim * std::min(geo.inner, kBlock)));
  parallel_for(0, geo.outer * blocks, grain, [&](int64_t begin, int64_t end) {
    A s[kBlock], e[kBlock];
    const A zero[kBlock] = {};
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / blocks, j0 = (task % blocks) * kBlock;
      const int64_t w = std::min(kBlock, geo.inner - j0);
      const int64_t base = o * geo.dim * geo.inner + j0;
      std::fill(s, s + w, A(0));
      for (int64_t d = 0; d < geo.dim; ++d) {
        const T *gr = g + base + d * geo.inner, *yr = y + base + d * geo.inner;
        if constexpr (kLog) for (int64_t j = 0; j < w; ++j) s[j] += A(gr[j]);
        else for (int64_t j = 0; j < w; ++j) s[j] += A(gr[j]) * A(yr[j]);
      }
      for (int64_t d = 0; d < geo.dim; ++d) {
        const T *gr = g + base + d * geo.inner, *yr = y + base + d * geo.inner;
        if constexpr (kLog) {
          exp_minus(yr, zero, e, w);
          for (int64_t j = 0; j < w; ++j) e[j] = A(gr[j]) - e[j] * s[j];
        } else {
          for (int64_t j = 0; j < w; ++j) e[j] = A(yr[j]) * (A(gr[j]) - s[j]);
        }
        if constexpr (std::is_same_v<T, A>) std::copy(e, e + w, dx + base + d * geo.inner);
        else narrow(e, dx + base + d * geo.inner, w);
      }
    }
  });
}

template <bool kLog>
Tensor softmax_backward_common(const Tensor& grad_output, const Tensor& output, int64_t dim) {
  const char* name = kLog ? "_log_softmax_backward_data" : "_softmax_backward_data";
  VT_CHECK(same_shape(grad_output.sizes(), output.sizes()), name, ": expected grad_output of the output's shape ",
           shape_string(output.sizes()), " but got ", shape_string(grad_output.sizes()));
  if (!is_floating(output.dtype())) raise_dtype_not_implemented(name, output.dtype());
  const int64_t d = output.dim() == 0 ? (wrap_dim(dim, 1, name), 0) : wrap_dim(dim, output.dim(), name);
  const Tensor y = contiguous(output);
  const Tensor g = contiguous(grad_output.dtype() == y.dtype() ? grad_output : to_dtype(grad_output, y.dtype()));
  Tensor dx = Tensor::empty(y.sizes(), y.dtype(), y.device());
  if (dx.numel() == 0) return dx;
  const DimGeometry geo = y.dim() == 0 ? DimGeometry{} : dim_geometry(y, d);
  visit_dtype(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<opmath_t<T>>) {
      if (geo.inner == 1) backward_rows<kLog>(g.data_as<T>(), y.data_as<T>(), dx.data_as<T>(), geo.outer, geo.dim);
      else backward_blocks<kLog>(g.data_as<T>(), y.data_as<T>(), dx.data_as<T>(), geo);
    }
  });
  return dx;
}

Tensor softmax_backward_kernel(const Tensor& grad_output, const Tensor& output, int64_t dim) {
  return softmax_backward_common<false>(grad_output, output, dim);
}
Tensor log_softmax_backward_kernel(const Tensor& grad_output, const Tensor& output, int64_t dim) {
  return softmax_backward_common<true>(grad_output, output, dim);
}

}  // namespace

void register_softmax_backward_ops() {
  define_kernel("vt::_softmax_backward_data(Tensor grad_output, Tensor output, int dim) -> Tensor", VT_DEVICE_CPU,
                &softmax_backward_kernel);
  define_kernel("vt::_log_softmax_backward_data(Tensor grad_output, Tensor output, int dim) -> Tensor",
                VT_DEVICE_CPU, &log_softmax_backward_kernel);
}

}  // namespace nn
}  // namespace vt
