// Resampling of (N, C, W) and (N, C, H, W): nearest and (bi)linear with torch's source-index
// arithmetic (in the compute type, so indices and weights agree with torch's). 1-D inputs run
// as 2-D ones of height 1. Per-axis index and weight tables are built once per call.
#include <cmath>
#include <vector>

#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

// torch's scale for one axis: 1 / the user's scale factor when given, else in / out.
template <typename A>
A axis_scale(int64_t in, int64_t out, std::optional<double> scale) {
  return scale && *scale > 0 ? A(1.0 / *scale) : A(in) / A(out);
}

std::vector<int64_t> nearest_indices(int64_t in, int64_t out, std::optional<double> scale) {
  std::vector<int64_t> idx(static_cast<size_t>(out));
  const float s = axis_scale<float>(in, out, scale);
  for (int64_t o = 0; o < out; ++o) {
    if (out == in) idx[size_t(o)] = o;
    else if (out == 2 * in) idx[size_t(o)] = o >> 1;
    else idx[size_t(o)] = std::min(int64_t(std::floor(float(o) * s)), in - 1);
  }
  return idx;
}

// For each output position: the two source indices and the weight of the second.
template <typename A>
struct LinearAxis {
  std::vector<int64_t> i0, i1;
  std::vector<A> frac;
  LinearAxis(int64_t in, int64_t out, bool align_corners, std::optional<double> scale)
      : i0(size_t(out)), i1(size_t(out)), frac(size_t(out)) {
    const A s = align_corners ? (out > 1 ? A(in - 1) / A(out - 1) : A(0)) : axis_scale<A>(in, out, scale);
    for (int64_t o = 0; o < out; ++o) {
      A src = align_corners ? s * A(o) : s * (A(o) + A(0.5)) - A(0.5);
      if (src < A(0)) src = A(0);
      const int64_t lo = int64_t(src);
      i0[size_t(o)] = lo;
      i1[size_t(o)] = lo + (lo < in - 1 ? 1 : 0);
      frac[size_t(o)] = src - A(lo);
    }
  }
};

struct Plan {
  Tensor x, out;
  int64_t planes, h, w, oh, ow;
};

Plan plan(const char* op, const Tensor& self, IntArrayRef output_size, int64_t spatial) {
  VT_CHECK(self.dim() == spatial + 2, op, ": expected a ", spatial + 2, "-D input (N, C, ",
           spatial == 1 ? "W" : "H, W", "), but got input of size ", shape_string(self.sizes()));
  VT_CHECK(int64_t(output_size.size()) == spatial, op, ": expected output_size to have ", spatial,
           " elements, but got ", output_size.size());
  Plan p;
  p.h = spatial == 1 ? 1 : self.sizes()[2];
  p.w = self.sizes()[self.dim() - 1];
  p.oh = spatial == 1 ? 1 : output_size[0];
  p.ow = output_size[size_t(spatial - 1)];
  bool ok = p.h > 0 && p.w > 0 && p.oh > 0 && p.ow > 0;
  if (spatial == 1)
    VT_CHECK(ok, "Input and output sizes should be greater than 0, but got input (W: ", p.w,
             ") and output (W: ", p.ow, ")");
  else
    VT_CHECK(ok, "Input and output sizes should be greater than 0, but got input (H: ", p.h, ", W: ",
             p.w, ") output (H: ", p.oh, ", W: ", p.ow, ")");
  p.x = contiguous(self);
  DimVector shape(self.sizes());
  for (int64_t d = 0; d < spatial; ++d) shape[size_t(2 + d)] = output_size[size_t(d)];
  p.out = Tensor::empty(shape, self.dtype(), self.device());
  p.planes = self.sizes()[0] * self.sizes()[1];
  return p;
}

template <typename F>
void for_planes(const Plan& p, F plane) {
  parallel_for(0, p.planes, std::max<int64_t>(1, kGrainSize / (p.oh * p.ow)),
               [&](int64_t b, int64_t e) { for (int64_t q = b; q < e; ++q) plane(q); });
}

Tensor nearest(const char* op, const Tensor& self, IntArrayRef output_size, int64_t spatial,
               std::optional<double> scales_h, std::optional<double> scales_w) {
  Plan p = plan(op, self, output_size, spatial);
  const ScalarType dt = self.dtype();
  if (!is_floating(dt) && dt != ScalarType::UInt8) raise_dtype_not_implemented(op, dt);
  const std::vector<int64_t> ih = nearest_indices(p.h, p.oh, scales_h), iw = nearest_indices(p.w, p.ow, scales_w);
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    for_planes(p, [&](int64_t q) {
      const T* in = p.x.data_as<T>() + q * p.h * p.w;
      T* o = p.out.data_as<T>() + q * p.oh * p.ow;
      for (int64_t y = 0; y < p.oh; ++y) {
        const T* row = in + ih[size_t(y)] * p.w;
        for (int64_t x = 0; x < p.ow; ++x) o[y * p.ow + x] = row[iw[size_t(x)]];
      }
    });
  });
  return p.out;
}

Tensor linear(const char* op, const Tensor& self, IntArrayRef output_size, int64_t spatial,
              bool align_corners, std::optional<double> scales_h, std::optional<double> scales_w) {
  Plan p = plan(op, self, output_size, spatial);
  // torch rounds uint8 through fixed-point separable passes; only floating types here.
  if (!is_floating(self.dtype())) raise_dtype_not_implemented(op, self.dtype());
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = opmath_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const LinearAxis<A> ay(p.h, p.oh, align_corners, scales_h), ax(p.w, p.ow, align_corners, scales_w);
      for_planes(p, [&](int64_t q) {
        const T* in = p.x.data_as<T>() + q * p.h * p.w;
        T* o = p.out.data_as<T>() + q * p.oh * p.ow;
        for (int64_t y = 0; y < p.oh; ++y) {
          const T* r0 = in + ay.i0[size_t(y)] * p.w;
          const T* r1 = in + ay.i1[size_t(y)] * p.w;
          const A fy = ay.frac[size_t(y)], gy = A(1) - fy;
          for (int64_t x = 0; x < p.ow; ++x) {
            const int64_t x0 = ax.i0[size_t(x)], x1 = ax.i1[size_t(x)];
            const A fx = ax.frac[size_t(x)], gx = A(1) - fx;
            o[y * p.ow + x] = T(gy * (gx * A(r0[x0]) + fx * A(r0[x1])) + fy * (gx * A(r1[x0]) + fx * A(r1[x1])));
          }
        }
      });
    }
  });
  return p.out;
}

Tensor upsample_nearest1d_kernel(const Tensor& self, IntArrayRef output_size, std::optional<double> scales) {
  return nearest("upsample_nearest1d", self, output_size, 1, std::nullopt, scales);
}
Tensor upsample_nearest2d_kernel(const Tensor& self, IntArrayRef output_size, std::optional<double> scales_h,
                                 std::optional<double> scales_w) {
  return nearest("upsample_nearest2d", self, output_size, 2, scales_h, scales_w);
}
Tensor upsample_linear1d_kernel(const Tensor& self, IntArrayRef output_size, bool align_corners,
                                std::optional<double> scales) {
  return linear("upsample_linear1d", self, output_size, 1, align_corners, std::nullopt, scales);
}
Tensor upsample_bilinear2d_kernel(const Tensor& self, IntArrayRef output_size, bool align_corners,
                                  std::optional<double> scales_h, std::optional<double> scales_w) {
  return linear("upsample_bilinear2d", self, output_size, 2, align_corners, scales_h, scales_w);
}

}  // namespace

void register_interpolate_ops() {
  define_kernel("vt::upsample_nearest1d(Tensor self, int[1] output_size, float? scales=None) -> Tensor",
                VT_DEVICE_CPU, &upsample_nearest1d_kernel);
  define_kernel("vt::upsample_nearest2d(Tensor self, int[2] output_size, float? scales_h=None, "
                "float? scales_w=None) -> Tensor",
                VT_DEVICE_CPU, &upsample_nearest2d_kernel);
  define_kernel("vt::upsample_linear1d(Tensor self, int[1] output_size, bool align_corners, "
                "float? scales=None) -> Tensor",
                VT_DEVICE_CPU, &upsample_linear1d_kernel);
  define_kernel("vt::upsample_bilinear2d(Tensor self, int[2] output_size, bool align_corners, "
                "float? scales_h=None, float? scales_w=None) -> Tensor",
                VT_DEVICE_CPU, &upsample_bilinear2d_kernel);
}

}  // namespace nn

Tensor upsample_nearest1d(const Tensor& self, IntArrayRef output_size, std::optional<double> scales) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef, std::optional<double>)> op("vt::upsample_nearest1d");
  return op(self, output_size, scales);
}
Tensor upsample_nearest2d(const Tensor& self, IntArrayRef output_size, std::optional<double> scales_h,
                          std::optional<double> scales_w) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef, std::optional<double>, std::optional<double>)>
      op("vt::upsample_nearest2d");
  return op(self, output_size, scales_h, scales_w);
}
Tensor upsample_linear1d(const Tensor& self, IntArrayRef output_size, bool align_corners,
                         std::optional<double> scales) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef, bool, std::optional<double>)> op("vt::upsample_linear1d");
  return op(self, output_size, align_corners, scales);
}
Tensor upsample_bilinear2d(const Tensor& self, IntArrayRef output_size, bool align_corners,
                           std::optional<double> scales_h, std::optional<double> scales_w) {
  static const OpHandle<Tensor(const Tensor&, IntArrayRef, bool, std::optional<double>, std::optional<double>)>
      op("vt::upsample_bilinear2d");
  return op(self, output_size, align_corners, scales_h, scales_w);
}

}  // namespace vt
