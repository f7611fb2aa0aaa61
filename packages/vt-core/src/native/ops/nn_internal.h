// Internals of the nn op family: each file's registration entry point and the small helpers
// several of its kernels share. Not part of the public C++ API (that is ops/nn.h).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/scalar_type.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ops/nn_vec.h"

namespace vt::nn {

void register_softmax_ops();
void register_softmax_backward_ops();
void register_loss_ops();
void register_nll_ops();
void register_cross_entropy_ops();
void register_cross_entropy_backward_ops();
void register_norm_ops();
void register_norm_backward_ops();
void register_embedding_ops();
void register_attention_ops();
void register_fused_attention_ops();
void register_conv_ops();
void register_pool_ops();
void register_interpolate_ops();
void register_dropout_ops();

// Sums fn(begin, end) -> std::array<double, K> over fixed chunks of [0, n) in parallel. The
// chunking does not depend on the thread count, so results are the same for any count.
template <int K, typename F>
std::array<double, K> parallel_sum(int64_t n, int64_t chunk, F fn) {
  const int64_t chunks = (n + chunk - 1) / chunk;
  std::vector<std::array<double, K>> partial(static_cast<size_t>(chunks));
  parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c)
      partial[size_t(c)] = fn(c * chunk, std::min(n, (c + 1) * chunk));
  });
  std::array<double, K> total{};
  for (const auto& p : partial)
    for (int k = 0; k < K; ++k) total[size_t(k)] += p[size_t(k)];
  return total;
}

// A tensor seen as (outer, dim, inner) around one dim: softmax and its backward walk rows when
// inner == 1, blocks of inner positions otherwise.
struct DimGeometry {
  int64_t outer = 1, dim = 1, inner = 1;
};
inline DimGeometry dim_geometry(const Tensor& t, int64_t d) {
  DimGeometry g;
  for (int64_t k = 0; k < t.dim(); ++k) {
    if (k < d) g.outer *= t.sizes()[k];
    else if (k == d) g.dim = t.sizes()[k];
    else g.inner *= t.sizes()[k];
  }
  return g;
}

// nll_loss / cross_entropy with class-index targets: input (N, C, d1, ...) seen as
// (n, c, s) after torch's shape checks; out_shape is the shape of an unreduced loss.
struct ClassTargets {
  int64_t n = 1, c = 1, s = 1;
  DimVector out_shape;
};
ClassTargets check_class_targets(const Tensor& input, const Tensor& target,
                                 const std::optional<Tensor>& weight, const char* op);

// (n, c, s) -> contiguous rows of c classes, one per (n, s) position.
Tensor class_rows(const Tensor& t, int64_t n, int64_t c, int64_t s);

// A small parameter (weight, bias) as a contiguous tensor of dtype t, or undefined if absent.
Tensor param_as(const std::optional<Tensor>& p, ScalarType t);

// Names the op and dtype torch names when a kernel has no implementation for a dtype.
[[noreturn]] void raise_dtype_not_implemented(const char* op, ScalarType t);

// Throws unless reduction is 0 (none), 1 (mean) or 2 (sum).
void check_reduction(int64_t reduction, const char* op);

}  // namespace vt::nn
