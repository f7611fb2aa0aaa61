// conv1d and conv2d as im2col + one GEMM per group through vt's mm / bmm. The columns of a
// chunk of samples sit side by side ([group][cin * kh * kw][sample * out_pixels]), so each chunk
// is a single large product; a last pass reorders it to (N, Cout, OH, OW) and adds the bias.
// conv1d runs as conv2d of height 1; padding='same' pads asymmetrically as torch does.
#include <cstring>

#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

struct ConvGeometry {
  int64_t n, cin, h, w, cout, kh, kw, groups;
  int64_t stride[2], pad[2], dilation[2];  // pad: before; the far side pads up to the output size
  int64_t oh, ow;
};

// Checks the operands as torch does and returns the geometry with the output size left to fill.
ConvGeometry check_conv(const char* op, const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias,
                        IntArrayRef stride, IntArrayRef dilation, int64_t groups) {
  for (int64_t s : stride) VT_CHECK(s > 0, "non-positive stride is not supported");
  for (int64_t d : dilation) VT_CHECK(d > 0, "dilation should be greater than zero");
  VT_CHECK(groups > 0, "non-positive groups is not supported");
  VT_CHECK(weight.sizes()[0] % groups == 0, "Given groups=", groups, ", expected weight to be divisible by ",
           groups, " at dimension 0, but got weight of size [", shape_string(weight.sizes()), "] instead");
  VT_CHECK(x.sizes()[1] == weight.sizes()[1] * groups, "Given groups=", groups, ", weight of size ",
           shape_string(weight.sizes()), ", expected input", shape_string(x.sizes()), " to have ",
           weight.sizes()[1] * groups, " channels, but got ", x.sizes()[1], " channels instead");
  if (bias && bias->defined())
    VT_CHECK(bias->dim() == 1 && bias->sizes()[0] == weight.sizes()[0], "Given weight of size ",
             shape_string(weight.sizes()), ", expected bias to be 1-dimensional with ", weight.sizes()[0],
             " elements, but got bias of size ", shape_string(bias->sizes()), " instead");
  for (const Tensor* t : {&weight, bias && bias->defined() ? &*bias : &weight})
    VT_CHECK(t->dtype() == x.dtype(), op, ": expected weight and bias of dtype ", dtype_name(x.dtype()),
             " (the input's) but found ", dtype_name(t->dtype()));
  if (x.dtype() == ScalarType::Bool) raise_dtype_not_implemented(op, x.dtype());
  ConvGeometry g{};
  g.n = x.sizes()[0], g.cin = x.sizes()[1], g.h = x.sizes()[2], g.w = x.sizes()[3];
  g.cout = weight.sizes()[0], g.kh = weight.sizes()[2], g.kw = weight.sizes()[3], g.groups = groups;
  for (int i = 0; i < 2; ++i) g.stride[i] = stride[size_t(i)], g.dilation[i] = dilation[size_t(i)];
  return g;
}

// cols[g][(c * kh + i) * kw + j][s * L + p] = x[n0 + s][g * cg + c][ih][iw] (0 outside the input).
template <typename T>
void im2col(const T* x, T* cols, const ConvGeometry& g, int64_t n0, int64_t chunk) {
  const int64_t cg = g.cin / g.groups, L = g.oh * g.ow, width = chunk * L;
  const int64_t rows = g.groups * cg * g.kh * g.kw;
  parallel_for(0, rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(width, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t j = r % g.kw, i = (r / g.kw) % g.kh, channel = r / (g.kw * g.kh);
      // The output columns whose input column lies inside [0, w).
      const int64_t off_w = j * g.dilation[1] - g.pad[1];
      int64_t ow_lo = 0, ow_hi = g.ow;
      while (ow_lo < g.ow && ow_lo * g.stride[1] + off_w < 0) ++ow_lo;
      while (ow_hi > ow_lo && (ow_hi - 1) * g.stride[1] + off_w >= g.w) --ow_hi;
      T* out_row = cols + r * width;
      for (int64_t s = 0; s < chunk; ++s) {
        const T* plane = x + ((n0 + s) * g.cin + channel) * g.h * g.w;
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          T* o = out_row + s * L + oy * g.ow;
          const int64_t iy = oy * g.stride[0] + i * g.dilation[0] - g.pad[0];
          if (iy < 0 || iy >= g.h) {
            std::fill(o, o + g.ow, T(0));
            continue;
          }
          const T* in = plane + iy * g.w + off_w;
          std::fill(o, o + ow_lo, T(0));
          if (g.stride[1] == 1) std::memcpy(o + ow_lo, in + ow_lo, size_t(ow_hi - ow_lo) * sizeof(T));
          else for (int64_t ox = ow_lo; ox < ow_hi; ++ox) o[ox] = in[ox * g.stride[1]];
          std::fill(o + ow_hi, o + g.ow, T(0));
        }
      }
    }
  });
}

Tensor conv2d_impl(const char* op, const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias,
                   ConvGeometry g) {
  Tensor out = Tensor::empty(DimVector{g.n, g.cout, g.oh, g.ow}, x.dtype(), x.device());
  const int64_t cg = g.cin / g.groups, cog = g.cout / g.groups, k = cg * g.kh * g.kw, L = g.oh * g.ow;
  if (out.numel() == 0) return out;
  const Tensor xc = contiguous(x);
  // Weight as [groups, cout / groups, k]: a view of the contiguous (Cout, Cin/g, kh, kw) tensor.
  const Tensor wg = reshape(contiguous(weight), DimVector{g.groups, cog, k});
  const Tensor b = bias && bias->defined() ? contiguous(*bias) : Tensor();
  // Bounds the columns buffer of a chunk to about 16M elements.
  const int64_t chunk = std::clamp<int64_t>((int64_t(1) << 24) / std::max<int64_t>(g.groups * k * L, 1), 1, g.n);
  Tensor cols = Tensor::empty(DimVector{g.groups, k, chunk * L}, x.dtype(), x.device());
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (!std::is_same_v<T, bool>) {
      for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
        const int64_t m = std::min(chunk, g.n - n0);
        // The last, smaller chunk reuses the front of the buffer as a contiguous tensor.
        const DimVector shape{g.groups, k, m * L};
        const Tensor c = m == chunk ? cols : cols.view_as_strided(shape, contiguous_strides(shape), cols.storage_offset());
        im2col(xc.data_as<T>(), c.data_as<T>(), g, n0, m);
        const Tensor r = contiguous(g.groups == 1 ? mm(select(wg, 0, 0), select(c, 0, 0)) : bmm(wg, c));  // [g][cog][m L]
        const T* rp = r.data_as<T>();
        const T* bp = b.defined() ? b.data_as<T>() : nullptr;
        T* op = out.data_as<T>();
        parallel_for(0, m * g.cout, std::max<int64_t>(1, kGrainSize / L), [&](int64_t lo, int64_t hi) {
          for (int64_t q = lo; q < hi; ++q) {
            const int64_t s = q / g.cout, co = q % g.cout;
            const T* from = rp + co * m * L + s * L;  // co = group * cog + local channel
            T* to = op + ((n0 + s) * g.cout + co) * L;
            if (bp) for (int64_t p = 0; p < L; ++p) to[p] = T(A(from[p]) + A(bp[co]));
            else std::memcpy(to, from, size_t(L) * sizeof(T));
          }
        });
      }
    }
  });
  return out;
}

int64_t conv_out(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation) {
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

// Runs conv2d on (N, C, H, W) views of 1-D (spatial == 1) or 2-D convolutions, batched or not.
Tensor conv_nd(const char* op, int64_t spatial, const Tensor& input, const Tensor& weight,
               const std::optional<Tensor>& bias, IntArrayRef stride, std::optional<IntArrayRef> padding,
               IntArrayRef dilation, int64_t groups) {
  const int64_t nd = input.dim();
  VT_CHECK(nd == spatial + 1 || nd == spatial + 2, "Expected ", spatial + 1, "D (unbatched) or ", spatial + 2,
           "D (batched) input to ", op, ", but got input of size: ", shape_string(input.sizes()));
  VT_CHECK(weight.dim() == spatial + 2, op, ": expected weight to be ", spatial + 2, "-D, but got weight of size ",
           shape_string(weight.sizes()));
  auto expand_arg = [&](IntArrayRef v, const char* what, int64_t fill) {
    VT_CHECK(v.size() == 1 || int64_t(v.size()) == spatial, "expected ", what, " to be a single integer value "
             "or a list of ", spatial, " values to match the convolution dimensions, but got ", what, "=",
             shape_string(v));
    DimVector out{fill};
    for (int64_t d = 0; d < spatial; ++d) out.push_back(v.size() == 1 ? v[0] : v[size_t(d)]);
    return spatial == 1 ? out : DimVector{out[1], out[2]};
  };
  Tensor x = nd == spatial + 1 ? unsqueeze(input, 0) : input;
  Tensor w = weight;
  if (spatial == 1) x = unsqueeze(x, 2), w = unsqueeze(w, 2);
  const DimVector s = expand_arg(stride, "stride", 1), d = expand_arg(dilation, "dilation", 1);
  ConvGeometry g = check_conv(op, x, w, bias, s, d, groups);
  if (padding) {
    const DimVector p = expand_arg(*padding, "padding", 0);
    for (int i = 0; i < 2; ++i) VT_CHECK(p[size_t(i)] >= 0, "negative padding is not supported");
    g.pad[0] = p[0], g.pad[1] = p[1];
    g.oh = conv_out(g.h, g.kh, g.pad[0], g.stride[0], g.dilation[0]);
    g.ow = conv_out(g.w, g.kw, g.pad[1], g.stride[1], g.dilation[1]);
  } else {  // 'same': stride 1, the output keeps the input's size
    for (int i = 0; i < 2; ++i) VT_CHECK(g.stride[i] == 1, "padding='same' is not supported for strided convolutions");
    g.pad[0] = g.dilation[0] * (g.kh - 1) / 2, g.pad[1] = g.dilation[1] * (g.kw - 1) / 2;
    g.oh = g.h, g.ow = g.w;
  }
  const int64_t eh = g.dilation[0] * (g.kh - 1) + 1, ew = g.dilation[1] * (g.kw - 1) + 1;
  VT_CHECK(!padding || (g.h + 2 * g.pad[0] >= eh && g.w + 2 * g.pad[1] >= ew), "Calculated padded input size per "
           "channel: (", spatial == 1 ? "" : std::to_string(g.h + 2 * g.pad[0]) + " x ", g.w + 2 * g.pad[1],
           "). Kernel size: (", spatial == 1 ? "" : std::to_string(eh) + " x ", ew,
           "). Kernel size can't be greater than actual input size");
  Tensor out = conv2d_impl(op, x, w, bias, g);
  if (spatial == 1) out = squeeze(out, DimVector{2});
  return nd == spatial + 1 ? squeeze(out, DimVector{0}) : out;
}

std::optional<IntArrayRef> padding_from(std::string_view padding, int64_t spatial, DimVector& zeros) {
  if (padding == "same") return std::nullopt;
  VT_CHECK(padding == "valid", "Invalid padding string: '", padding, "'");
  zeros.assign(DimVector(size_t(spatial), 0));
  return IntArrayRef(zeros);
}

Tensor conv1d_kernel(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
                     IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  return conv_nd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups);
}
Tensor conv2d_kernel(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
                     IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  return conv_nd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups);
}
Tensor conv1d_padding_kernel(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
                             IntArrayRef stride, std::string_view padding, IntArrayRef dilation, int64_t groups) {
  DimVector zeros;
  return conv_nd("conv1d", 1, input, weight, bias, stride, padding_from(padding, 1, zeros), dilation, groups);
}
Tensor conv2d_padding_kernel(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
                             IntArrayRef stride, std::string_view padding, IntArrayRef dilation, int64_t groups) {
  DimVector zeros;
  return conv_nd("conv2d", 2, input, weight, bias, stride, padding_from(padding, 2, zeros), dilation, groups);
}

}  // namespace

void register_conv_ops() {
  define_kernel("vt::conv1d(Tensor input, Tensor weight, Tensor? bias=None, int[1] stride=[1], "
                "int[1] padding=[0], int[1] dilation=[1], int groups=1) -> Tensor",
                VT_DEVICE_CPU, &conv1d_kernel);
  define_kernel("vt::conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=[1], "
                "int[2] padding=[0], int[2] dilation=[1], int groups=1) -> Tensor",
                VT_DEVICE_CPU, &conv2d_kernel);
  define_kernel("vt::conv1d.padding(Tensor input, Tensor weight, Tensor? bias=None, int[1] stride=[1], "
                "str padding=\"valid\", int[1] dilation=[1], int groups=1) -> Tensor",
                VT_DEVICE_CPU, &conv1d_padding_kernel);
  define_kernel("vt::conv2d.padding(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=[1], "
                "str padding=\"valid\", int[2] dilation=[1], int groups=1) -> Tensor",
                VT_DEVICE_CPU, &conv2d_padding_kernel);
}

}  // namespace nn

#define VT_NN_CONV(fn, name, PaddingT)                                                              \
  Tensor fn(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,           \
            IntArrayRef stride, PaddingT padding, IntArrayRef dilation, int64_t groups) {           \
    static const OpHandle<Tensor(const Tensor&, const Tensor&, const std::optional<Tensor>&,        \
                                 IntArrayRef, PaddingT, IntArrayRef, int64_t)> op(name);            \
    return op(input, weight, bias, stride, padding, dilation, groups);                              \
  }
VT_NN_CONV(conv1d, "vt::conv1d", IntArrayRef)
VT_NN_CONV(conv2d, "vt::conv2d", IntArrayRef)
VT_NN_CONV(conv1d, "vt::conv1d.padding", std::string_view)
VT_NN_CONV(conv2d, "vt::conv2d.padding", std::string_view)
#undef VT_NN_CONV

}  // namespace vt
