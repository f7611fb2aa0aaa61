// Neural-network functional ops: softmax family, losses, norms, embedding, attention,
// convolution, pooling, interpolation. Argument order and defaults follow torch's aten ops.
#pragma once

#include <optional>
#include <string_view>
#include <tuple>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// Loss reductions, numbered as torch numbers them.
enum class Reduction : int64_t { None = 0, Mean = 1, Sum = 2 };

Tensor softmax(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype = std::nullopt);
Tensor log_softmax(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype = std::nullopt);

// Losses; reduction is a Reduction value.
Tensor nll_loss(const Tensor& self, const Tensor& target,
                const std::optional<Tensor>& weight = std::nullopt, int64_t reduction = 1,
                int64_t ignore_index = -100);
// target: class indices (int64 or uint8) or class probabilities (input's shape).
Tensor cross_entropy(const Tensor& self, const Tensor& target,
                     const std::optional<Tensor>& weight = std::nullopt, int64_t reduction = 1,
                     int64_t ignore_index = -100, double label_smoothing = 0.0);
Tensor mse_loss(const Tensor& self, const Tensor& target, int64_t reduction = 1);
Tensor l1_loss(const Tensor& self, const Tensor& target, int64_t reduction = 1);
Tensor binary_cross_entropy(const Tensor& self, const Tensor& target,
                            const std::optional<Tensor>& weight = std::nullopt,
                            int64_t reduction = 1);
Tensor binary_cross_entropy_with_logits(const Tensor& self, const Tensor& target,
                                        const std::optional<Tensor>& weight = std::nullopt,
                                        const std::optional<Tensor>& pos_weight = std::nullopt,
                                        int64_t reduction = 1);

// Normalization over the trailing normalized_shape dims (layer_norm, rms_norm) or over channel
// groups (group_norm, input (N, C, *)). rms_norm's eps defaults to the compute type's epsilon.
Tensor layer_norm(const Tensor& input, IntArrayRef normalized_shape,
                  const std::optional<Tensor>& weight = std::nullopt,
                  const std::optional<Tensor>& bias = std::nullopt, double eps = 1e-5);
Tensor rms_norm(const Tensor& input, IntArrayRef normalized_shape,
                const std::optional<Tensor>& weight = std::nullopt,
                std::optional<double> eps = std::nullopt);
Tensor group_norm(const Tensor& input, int64_t num_groups,
                  const std::optional<Tensor>& weight = std::nullopt,
                  const std::optional<Tensor>& bias = std::nullopt, double eps = 1e-5);

// Rows of weight (num_embeddings, dim) picked by integer indices; padding_idx only matters to
// the gradient (-1: none).
Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx = -1);

// input * mask * scale (the mask as dropout draws it); what dropout is made of.
Tensor masked_scale(const Tensor& input, const Tensor& mask, double scale);
// Zeroes each element with probability p and scales the rest by 1 / (1 - p) when train; returns
// self itself when not training or p == 0 (as torch does).
Tensor dropout(const Tensor& input, double p = 0.5, bool train = true);
const Tensor& dropout_(const Tensor& self, double p = 0.5, bool train = true);

// softmax(q k^T * scale + mask) v over (..., L, E) x (..., S, E) x (..., S, Ev); attn_mask is
// bool (true = attend) or additive in q's dtype; rows with nothing to attend to give 0.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const std::optional<Tensor>& attn_mask = std::nullopt,
                                    double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt,
                                    bool enable_gqa = false);

// Convolutions of (N, C, L) / (N, C, H, W) (or unbatched) inputs with weight
// (Cout, Cin / groups, k...); padding as numbers or "valid" / "same".
Tensor conv1d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
              IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, int64_t groups = 1);
Tensor conv2d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
              IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, int64_t groups = 1);
Tensor conv1d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
              IntArrayRef stride, std::string_view padding, IntArrayRef dilation, int64_t groups = 1);
Tensor conv2d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
              IntArrayRef stride, std::string_view padding, IntArrayRef dilation, int64_t groups = 1);

// Pooling over the last two dims of (N, C, H, W) or (C, H, W). An empty stride means
// stride = kernel_size.
Tensor max_pool2d(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                  IntArrayRef padding, IntArrayRef dilation, bool ceil_mode = false);
// Attention of same-batch query/key/value blocks in one fused pass (float32/float64, no dropout):
// the output and each query row's log-sum-exp, which the fused backward reuses.
std::tuple<Tensor, Tensor> sdpa_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                        const std::optional<Tensor>& attn_mask, bool is_causal, double scale);
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& self, IntArrayRef kernel_size,
                                                   IntArrayRef stride, IntArrayRef padding,
                                                   IntArrayRef dilation, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                  IntArrayRef padding, bool ceil_mode = false, bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = std::nullopt);
Tensor adaptive_avg_pool2d(const Tensor& self, IntArrayRef output_size);

// Resampling of (N, C, W) or (N, C, H, W) to output_size; scales, when given, are the
// user's scale factors (output / input), which torch's index arithmetic uses.
Tensor upsample_nearest1d(const Tensor& self, IntArrayRef output_size,
                          std::optional<double> scales = std::nullopt);
Tensor upsample_nearest2d(const Tensor& self, IntArrayRef output_size,
                          std::optional<double> scales_h = std::nullopt,
                          std::optional<double> scales_w = std::nullopt);
Tensor upsample_linear1d(const Tensor& self, IntArrayRef output_size, bool align_corners,
                         std::optional<double> scales = std::nullopt);
Tensor upsample_bilinear2d(const Tensor& self, IntArrayRef output_size, bool align_corners,
                           std::optional<double> scales_h = std::nullopt,
                           std::optional<double> scales_w = std::nullopt);

}  // namespace vt
