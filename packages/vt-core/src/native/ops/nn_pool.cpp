// 2-D pooling over the last two dims of (N, C, H, W) or (C, H, W): max (with or without the
// argmax indices), average, adaptive average. One task per (n, c) plane of a contiguous input.
#include <cmath>

#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

struct Window {
  int64_t k[2], s[2], p[2], d[2];
  int64_t in[2], out[2];
  int64_t planes;
};

int64_t pair_at(IntArrayRef v, int i, int64_t fallback) {
  return v.empty() ? fallback : v.size() == 1 ? v[0] : v[size_t(i)];
}

void check_pair(IntArrayRef v, const char* op, const char* what, bool allow_empty) {
  VT_CHECK(v.size() == 1 || v.size() == 2 || (allow_empty && v.empty()), op, ": ", what,
           " must either be ", allow_empty ? "omitted, " : "", "a single int, or a tuple of two ints");
}

// torch's pooling_output_shape: floor or ceil division; a ceil window must start inside the
// input or the left padding.
int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
  int64_t num = in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

Window make_window(const char* op, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                   IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  check_pair(kernel_size, op, "kernel_size", false);
  check_pair(stride, op, "stride", true);
  check_pair(padding, op, "padding", false);
  check_pair(dilation, op, "dilation", false);
  Window w;
  for (int i = 0; i < 2; ++i) {
    w.k[i] = pair_at(kernel_size, i, 1);
    w.s[i] = pair_at(stride, i, w.k[i]);
    w.p[i] = pair_at(padding, i, 0);
    w.d[i] = pair_at(dilation, i, 1);
  }
  VT_CHECK(w.s[0] != 0 && w.s[1] != 0, "stride should not be zero");
  VT_CHECK(w.k[0] > 0 && w.k[1] > 0, "kernel size should be greater than zero, but got kH: ", w.k[0], " kW: ", w.k[1]);
  VT_CHECK(w.s[0] > 0 && w.s[1] > 0, "stride should be greater than zero, but got dH: ", w.s[0], " dW: ", w.s[1]);
  VT_CHECK(w.d[0] > 0 && w.d[1] > 0, "dilation should be greater than zero, but got dilationH: ",
           w.d[0], " dilationW: ", w.d[1]);
  const int64_t nd = self.dim();
  VT_CHECK((nd == 3 || nd == 4) && self.sizes()[nd - 1] != 0 && self.sizes()[nd - 2] != 0 &&
               self.sizes()[nd - 3] != 0,
           "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:",
           shape_string(self.sizes()));
  for (int i = 0; i < 2; ++i) {
    VT_CHECK(w.p[i] >= 0 && w.p[i] <= ((w.k[i] - 1) * w.d[i] + 1) / 2, "pad should be at most half of "
             "effective kernel size, but got pad=", w.p[i], ", kernel_size=", w.k[i], " and dilation=", w.d[i]);
    VT_CHECK(w.p[i] <= w.k[i] / 2, "pad should be smaller than or equal to half of kernel size, but got "
             "padW = ", w.p[1], ", padH = ", w.p[0], ", kW = ", w.k[1], ", kH = ", w.k[0]);
    w.in[i] = self.sizes()[nd - 2 + i];
    w.out[i] = pooled_size(w.in[i], w.k[i], w.p[i], w.s[i], w.d[i], ceil_mode);
  }
  VT_CHECK(w.out[0] >= 1 && w.out[1] >= 1, "Given input size: (", self.sizes()[nd - 3], "x", w.in[0], "x",
           w.in[1], "). Calculated output size: (", self.sizes()[nd - 3], "x", w.out[0], "x", w.out[1],
           "). Output size is too small");
  w.planes = self.numel() / (w.in[0] * w.in[1]);
  return w;
}

DimVector pooled_shape(const Tensor& self, int64_t oh, int64_t ow) {
  DimVector shape(self.sizes());
  shape[size_t(self.dim() - 2)] = oh;
  shape[size_t(self.dim() - 1)] = ow;
  return shape;
}

// Runs plane(in, out, plane_index) over every (n, c) plane in parallel.
template <typename F>
void for_planes(int64_t planes, int64_t work_per_plane, F plane) {
  parallel_for(0, planes, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(work_per_plane, 1)),
               [&](int64_t b, int64_t e) { for (int64_t q = b; q < e; ++q) plane(q); });
}

template <bool kIndices>
std::tuple<Tensor, Tensor> max_pool_impl(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                                         IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  const Window w = make_window("max_pool2d", self, kernel_size, stride, padding, dilation, ceil_mode);
  if (self.dtype() == ScalarType::Bool) raise_dtype_not_implemented("max_pool2d", self.dtype());
  const Tensor x = contiguous(self);
  const DimVector shape = pooled_shape(x, w.out[0], w.out[1]);
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  Tensor indices = kIndices ? Tensor::empty(shape, ScalarType::Int64, x.device()) : Tensor();
  const int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (!std::is_same_v<T, bool>) {
      for_planes(w.planes, OH * OW * w.k[0] * w.k[1], [&](int64_t q) {
        const T* in = x.data_as<T>() + q * H * W;
        T* o = out.data_as<T>() + q * OH * OW;
        int64_t* oi = kIndices ? indices.data_as<int64_t>() + q * OH * OW : nullptr;
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t h0 = oh * w.s[0] - w.p[0];
          const int64_t h1 = std::min(h0 + (w.k[0] - 1) * w.d[0] + 1, H);
          while (h0 < 0) h0 += w.d[0];
          for (int64_t ow = 0; ow < OW; ++ow) {
            int64_t w0 = ow * w.s[1] - w.p[1];
            const int64_t w1 = std::min(w0 + (w.k[1] - 1) * w.d[1] + 1, W);
            while (w0 < 0) w0 += w.d[1];
            // torch's rule: a NaN wins over any number, the last NaN over earlier ones; the
            // index of an all -inf window is its first element.
            A best = std::numeric_limits<A>::has_infinity ? -std::numeric_limits<A>::infinity()
                                                          : std::numeric_limits<A>::lowest();
            int64_t arg = h0 * W + w0;
            for (int64_t ih = h0; ih < h1; ih += w.d[0])
              for (int64_t iw = w0; iw < w1; iw += w.d[1]) {
                const A v = A(in[ih * W + iw]);
                bool take = v > best;
                if constexpr (std::is_floating_point_v<A>) take = take || std::isnan(v);
                if (take) best = v, arg = ih * W + iw;
              }
            o[oh * OW + ow] = T(best);
            if constexpr (kIndices) oi[oh * OW + ow] = arg;
          }
        }
      });
    }
  });
  return {out, indices};
}

Tensor max_pool2d_kernel(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                         IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  return std::get<0>(max_pool_impl<false>(self, kernel_size, stride, padding, dilation, ceil_mode));
}

std::tuple<Tensor, Tensor> max_pool2d_with_indices_kernel(const Tensor& self, IntArrayRef kernel_size,
                                                          IntArrayRef stride, IntArrayRef padding,
                                                          IntArrayRef dilation, bool ceil_mode) {
  return max_pool_impl<true>(self, kernel_size, stride, padding, dilation, ceil_mode);
}

Tensor avg_pool2d_kernel(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                         bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  const int64_t one[] = {1};
  const Window w = make_window("avg_pool2d", self, kernel_size, stride, padding, one, ceil_mode);
  VT_CHECK(!divisor_override || *divisor_override != 0, "divisor must be not zero");
  if (!is_floating(self.dtype()) && self.dtype() != ScalarType::Int64)
    raise_dtype_not_implemented("avg_pool2d", self.dtype());
  const Tensor x = contiguous(self);
  Tensor out = Tensor::empty(pooled_shape(x, w.out[0], w.out[1]), x.dtype(), x.device());
  const int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A> || std::is_same_v<T, int64_t>) {
      for_planes(w.planes, OH * OW * w.k[0] * w.k[1], [&](int64_t q) {
        const T* in = x.data_as<T>() + q * H * W;
        T* o = out.data_as<T>() + q * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t h0 = oh * w.s[0] - w.p[0], h1 = std::min(h0 + w.k[0], H + w.p[0]);
          const int64_t padded_h = h1 - h0;
          h0 = std::max<int64_t>(h0, 0), h1 = std::min(h1, H);
          for (int64_t ow = 0; ow < OW; ++ow) {
            int64_t w0 = ow * w.s[1] - w.p[1], w1 = std::min(w0 + w.k[1], W + w.p[1]);
            const int64_t padded = padded_h * (w1 - w0);
            w0 = std::max<int64_t>(w0, 0), w1 = std::min(w1, W);
            if (h0 >= h1 || w0 >= w1) {  // a ceil-mode window entirely in the padding
              o[oh * OW + ow] = T(0);
              continue;
            }
            A total = 0;
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) total += A(in[ih * W + iw]);
            const int64_t divisor = divisor_override ? *divisor_override
                                    : count_include_pad ? padded : (h1 - h0) * (w1 - w0);
            o[oh * OW + ow] = T(total / A(divisor));
          }
        }
      });
    }
  });
  return out;
}

Tensor adaptive_avg_pool2d_kernel(const Tensor& self, IntArrayRef output_size) {
  VT_CHECK(output_size.size() == 2, "adaptive_avg_pool2d: output_size must be 2");
  const int64_t nd = self.dim();
  VT_CHECK(nd == 3 || nd == 4, "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got ", shape_string(self.sizes()));
  for (int64_t d = nd - 3; d < nd; ++d)
    VT_CHECK(self.sizes()[d] > 0, "adaptive_avg_pool2d(): Expected input to have non-zero size for "
             "non-batch dimensions, but input has sizes ", shape_string(self.sizes()), " with dimension ",
             d, " being empty");
  VT_CHECK(output_size[0] >= 0 && output_size[1] >= 0, "adaptive_avg_pool2d: elements of output_size "
           "must be greater than or equal to 0 but received {", output_size[0], ", ", output_size[1], "}");
  if (!is_floating(self.dtype())) raise_dtype_not_implemented("adaptive_avg_pool2d", self.dtype());
  const Tensor x = contiguous(self);
  const int64_t H = x.sizes()[nd - 2], W = x.sizes()[nd - 1], OH = output_size[0], OW = output_size[1];
  Tensor out = Tensor::empty(pooled_shape(x, OH, OW), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  const int64_t planes = x.numel() / (H * W);
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      for_planes(planes, H * W, [&](int64_t q) {
        const T* in = x.data_as<T>() + q * H * W;
        T* o = out.data_as<T>() + q * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh) {
          // Window [floor(o * in / out), ceil((o + 1) * in / out)).
          const int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
            A total = 0;
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) total += A(in[ih * W + iw]);
            o[oh * OW + ow] = T(total / A((h1 - h0) * (w1 - w0)));
          }
        }
      });
    }
  });
  return out;
}

}  // namespace

void register_pool_ops() {
  define_kernel("vt::max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=[0], "
                "int[2] dilation=[1], bool ceil_mode=False) -> Tensor",
                VT_DEVICE_CPU, &max_pool2d_kernel);
  define_kernel("vt::max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], "
                "int[2] padding=[0], int[2] dilation=[1], bool ceil_mode=False) -> (Tensor, Tensor)",
                VT_DEVICE_CPU, &max_pool2d_with_indices_kernel);
  define_kernel("vt::avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=[0], "
                "bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor",
                VT_DEVICE_CPU, &avg_pool2d_kernel);
  define_kernel("vt::adaptive_avg_pool2d(Tensor self, int[2] output_size) -> Tensor",
                VT_DEVICE_CPU, &adaptive_avg_pool2d_kernel);
}

}  // namespace nn

Tensor max_pool2d(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  IntArrayRef dilation, bool ceil_mode) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef, IntArrayRef, IntArrayRef, IntArrayRef, bool)>
      op("vt::max_pool2d");
  return op(self, kernel_size, stride, padding, dilation, ceil_mode);
}
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& self, IntArrayRef kernel_size,
                                                   IntArrayRef stride, IntArrayRef padding,
                                                   IntArrayRef dilation, bool ceil_mode) {
  static const OpHandle<std::tuple<Tensor, Tensor>(const Tensor&, IntArrayRef, IntArrayRef, IntArrayRef, IntArrayRef, bool)>
      op("vt::max_pool2d_with_indices");
  return op(self, kernel_size, stride, padding, dilation, ceil_mode);
}
Tensor avg_pool2d(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef, IntArrayRef, IntArrayRef, bool, bool, std::optional<int64_t>)>
      op("vt::avg_pool2d");
  return op(self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override);
}
Tensor adaptive_avg_pool2d(const Tensor& self, IntArrayRef output_size) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef)> op("vt::adaptive_avg_pool2d");
  return op(self, output_size);
}

}  // namespace vt
