// The nn op family's spatial functions: convolution, attention, pooling and interpolate as vt.core functions with
// torch.nn.functional's signatures, including the size / scale_factor / mode logic that torch
// runs in Python before its aten ops.
#include <cmath>

#include "bindings/common.h"
#include "bindings/ops_nn.h"

#include "ops/ops.h"

namespace vt::py {
namespace {

DimVector optional_pair(nb::handle h, const char* what) {
  return h.is_none() ? DimVector() : int_list(h, what);
}

// adaptive output sizes: an int, or a pair whose None entries keep the input's size.
DimVector adaptive_size(const Tensor& input, nb::handle h) {
  if (PyLong_Check(h.ptr())) {
    int64_t s = nb::cast<int64_t>(h);
    return {s, s};
  }
  DimVector out;
  int64_t i = 0, n = nb::len(h);
  for (nb::handle item : nb::borrow<nb::object>(h)) {
    const int64_t d = input.dim() - n + i++;
    out.push_back(item.is_none() ? input.size(d) : nb::cast<int64_t>(item));
  }
  return out;
}

[[noreturn]] void raise_mode(const std::string& mode, int64_t dim) {
  fail(VT_ERROR_NOT_IMPLEMENTED, "Input Error: Only 3D, 4D and 5D input Tensors supported (got ", dim,
       "D) for the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
       "nearest-exact (got ", mode, ")");
}

Tensor interpolate(const Tensor& input, nb::handle size, nb::handle scale_factor, const std::string& mode,
                   std::optional<bool> align_corners, std::optional<bool> recompute_scale_factor, bool antialias) {
  const int64_t spatial = input.dim() - 2;
  DimVector out_size;
  std::vector<std::optional<double>> scales(size_t(std::max<int64_t>(spatial, 0)));
  VT_CHECK_VALUE(size.is_none() || scale_factor.is_none(), "only one of size or scale_factor should be defined");
  if (!size.is_none()) {
    out_size = int_list(size, "interpolate");
    if (PySequence_Check(size.ptr()))
      VT_CHECK_VALUE(int64_t(out_size.size()) == spatial, "Input and output must have the same number of "
                     "spatial dimensions, but got input with spatial dimensions of ",
                     shape_string(IntArrayRef(input.sizes()).subspan(std::min<size_t>(2, input.dim()))),
                     " and output size of ", shape_string(out_size), ". Please provide input tensor in (N, C, "
                     "d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.");
    else
      out_size = DimVector(size_t(std::max<int64_t>(spatial, 0)), out_size[0]);
    VT_CHECK_VALUE(!recompute_scale_factor || !*recompute_scale_factor,
                   "recompute_scale_factor is not meaningful with an explicit size.");
  } else if (!scale_factor.is_none()) {
    std::vector<double> factors;
    if (PySequence_Check(scale_factor.ptr())) {
      for (nb::handle f : nb::borrow<nb::object>(scale_factor)) factors.push_back(nb::cast<double>(f));
      VT_CHECK_VALUE(int64_t(factors.size()) == spatial, "Input and scale_factor must have the same number "
                     "of spatial dimensions, but got input with spatial dimensions of ",
                     shape_string(IntArrayRef(input.sizes()).subspan(std::min<size_t>(2, input.dim()))),
                     " and scale_factor of shape ", factors.size(), ".");
    } else {
      factors.assign(size_t(std::max<int64_t>(spatial, 0)), nb::cast<double>(scale_factor));
    }
    // torch passes the factors to the kernel unless asked to recompute them from the sizes.
    for (int64_t d = 0; d < spatial; ++d) {
      out_size.push_back(int64_t(std::floor(double(input.size(2 + d)) * factors[size_t(d)])));
      if (!recompute_scale_factor || !*recompute_scale_factor) scales[size_t(d)] = factors[size_t(d)];
    }
  } else {
    fail(VT_ERROR_VALUE, "either size or scale_factor should be defined");
  }
  const bool interpolating = mode == "linear" || mode == "bilinear" || mode == "bicubic" || mode == "trilinear";
  VT_CHECK_VALUE(!align_corners || interpolating, "align_corners option can only be set with the "
                 "interpolating modes: linear | bilinear | bicubic | trilinear");
  VT_CHECK_VALUE(!antialias || ((mode == "bilinear" || mode == "bicubic") && input.dim() == 4),
                 "Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D tensor as input");
  if (antialias) fail(VT_ERROR_NOT_IMPLEMENTED, "interpolate(): antialias=True is not implemented in vt.core");
  const bool corners = align_corners.value_or(false);
  if (mode == "nearest" && spatial == 1) return vt::upsample_nearest1d(input, out_size, scales[0]);
  if (mode == "nearest" && spatial == 2) return vt::upsample_nearest2d(input, out_size, scales[0], scales[1]);
  if (mode == "linear" && spatial == 1) return vt::upsample_linear1d(input, out_size, corners, scales[0]);
  if (mode == "bilinear" && spatial == 2)
    return vt::upsample_bilinear2d(input, out_size, corners, scales[0], scales[1]);
  const bool known = mode == "nearest" || interpolating || mode == "area" || mode == "nearest-exact" || mode == "lanczos";
  if (!known || spatial < 1 || spatial > 3) raise_mode(mode, input.dim());
  if (mode == "bilinear" || mode == "linear" || mode == "trilinear") {
    const int64_t want = mode == "linear" ? 3 : mode == "bilinear" ? 4 : 5;
    if (want != input.dim()) fail(VT_ERROR_NOT_IMPLEMENTED, "Got ", input.dim(), "D input, but ", mode, " mode needs ", want, "D input");
  }
  fail(VT_ERROR_NOT_IMPLEMENTED, "interpolate(): mode='", mode, "' on a ", input.dim(),
       "-D input is not implemented in vt.core (nearest on 3-D/4-D, linear on 3-D, bilinear on 4-D are)");
}

template <int Spatial>
Tensor conv(const Tensor& input, const Tensor& weight, nb::handle bias, nb::handle stride, nb::handle padding,
            nb::handle dilation, int64_t groups) {
  const char* op = Spatial == 1 ? "conv1d" : "conv2d";
  const auto b = nn_optional_tensor(bias, op, "bias");
  const DimVector s = int_list(stride, op), d = int_list(dilation, op);
  if (nb::isinstance<nb::str>(padding)) {
    const std::string mode = nb::cast<std::string>(padding);
    return without_gil([&] {
      return Spatial == 1 ? vt::conv1d(input, weight, b, s, std::string_view(mode), d, groups)
                          : vt::conv2d(input, weight, b, s, std::string_view(mode), d, groups);
    });
  }
  const DimVector p = int_list(padding, op);
  return without_gil([&] {
    return Spatial == 1 ? vt::conv1d(input, weight, b, s, IntArrayRef(p), d, groups)
                        : vt::conv2d(input, weight, b, s, IntArrayRef(p), d, groups);
  });
}

}  // namespace

void bind_nn_spatial_ops(nb::module_& m) {
  m.def("conv1d", &conv<1>, nb::arg("input"), nb::arg("weight"), nb::arg("bias") = nb::none(),
        nb::arg("stride") = 1, nb::arg("padding") = 0, nb::arg("dilation") = 1, nb::arg("groups") = 1);
  m.def("conv2d", &conv<2>, nb::arg("input"), nb::arg("weight"), nb::arg("bias") = nb::none(),
        nb::arg("stride") = 1, nb::arg("padding") = 0, nb::arg("dilation") = 1, nb::arg("groups") = 1);
  m.def("scaled_dot_product_attention", [](const Tensor& q, const Tensor& k, const Tensor& v, nb::handle attn_mask,
                                           double dropout_p, bool is_causal, std::optional<double> scale,
                                           bool enable_gqa) {
    const auto mask = nn_optional_tensor(attn_mask, "scaled_dot_product_attention", "attn_mask");
    return without_gil([&] {
      return vt::scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal, scale, enable_gqa);
    });
  }, nb::arg("query"), nb::arg("key"), nb::arg("value"), nb::arg("attn_mask") = nb::none(),
     nb::arg("dropout_p") = 0.0, nb::arg("is_causal") = false, nb::arg("scale") = nb::none(),
     nb::arg("enable_gqa") = false);
  m.def("max_pool2d", [](const Tensor& input, nb::handle kernel_size, nb::handle stride, nb::handle padding,
                         nb::handle dilation, bool ceil_mode, bool return_indices) -> nb::object {
    const DimVector k = int_list(kernel_size, "max_pool2d"), s = optional_pair(stride, "max_pool2d"),
                    p = int_list(padding, "max_pool2d"), d = int_list(dilation, "max_pool2d");
    if (return_indices) {
      auto [out, indices] = vt::max_pool2d_with_indices(input, k, s, p, d, ceil_mode);
      return nb::make_tuple(out, indices);
    }
    return nb::cast(vt::max_pool2d(input, k, s, p, d, ceil_mode));
  }, nb::arg("input"), nb::arg("kernel_size"), nb::arg("stride").none() = nb::tuple(), nb::arg("padding") = 0,
     nb::arg("dilation") = 1, nb::arg("ceil_mode") = false, nb::arg("return_indices") = false);
  m.def("avg_pool2d", [](const Tensor& input, nb::handle kernel_size, nb::handle stride, nb::handle padding,
                         bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
    return vt::avg_pool2d(input, int_list(kernel_size, "avg_pool2d"), optional_pair(stride, "avg_pool2d"),
                          int_list(padding, "avg_pool2d"), ceil_mode, count_include_pad, divisor_override);
  }, nb::arg("input"), nb::arg("kernel_size"), nb::arg("stride") = nb::none(), nb::arg("padding") = 0,
     nb::arg("ceil_mode") = false, nb::arg("count_include_pad") = true, nb::arg("divisor_override") = nb::none());
  m.def("adaptive_avg_pool2d", [](const Tensor& input, nb::handle output_size) {
    return vt::adaptive_avg_pool2d(input, adaptive_size(input, output_size));
  }, nb::arg("input"), nb::arg("output_size"));
  m.def("interpolate", &interpolate, nb::arg("input"), nb::arg("size") = nb::none(),
        nb::arg("scale_factor") = nb::none(), nb::arg("mode") = "nearest", nb::arg("align_corners") = nb::none(),
        nb::arg("recompute_scale_factor") = nb::none(), nb::arg("antialias") = false);
}

}  // namespace vt::py
