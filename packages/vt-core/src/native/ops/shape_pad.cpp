// torch.nn.functional.pad: constant padding (negative pads crop) and the reflect, replicate
// and circular modes, which gather each padded dim through an index map.
#include <algorithm>
#include <string>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/shape_internal.h"

namespace vt {
namespace {

enum class PadMode { Reflect, Replicate, Circular };

// pad[2i], pad[2i+1] pad dim (ndim - 1 - i): the last dim comes first.
int64_t padded_dim(const Tensor& self, size_t i) { return self.dim() - 1 - int64_t(i); }

Tensor constant_pad(const Tensor& self, IntArrayRef pad, double value) {
  Tensor in = self;
  DimVector out_shape = self.sizes();
  bool all_zero = true;
  for (size_t i = 0; i < pad.size() / 2; ++i) {
    int64_t d = padded_dim(self, i), l = pad[2 * i], r = pad[2 * i + 1];
    all_zero &= l == 0 && r == 0;
    int64_t n = self.sizes()[d];
    in = vt::narrow(in, d, std::max<int64_t>(-l, 0), n - std::max<int64_t>(-l, 0) - std::max<int64_t>(-r, 0));
    out_shape[d] = n + l + r;
  }
  if (all_zero) return vt::clone(self);
  Tensor out = vt::full(out_shape, Scalar(value), self.dtype(), self.device());
  Tensor inner = out;
  for (size_t i = 0; i < pad.size() / 2; ++i) {
    int64_t d = padded_dim(self, i);
    inner = vt::narrow(inner, d, std::max<int64_t>(pad[2 * i], 0), in.sizes()[d]);
  }
  if (inner.numel() > 0) vt::copy_(inner, in);
  return out;
}

// Source index of every output position along one dim.
Tensor index_map(PadMode mode, int64_t n, int64_t l, int64_t r, Device device) {
  const int64_t out = n + l + r;
  Tensor map = Tensor::empty(DimVector{out}, ScalarType::Int64, kCPU);
  int64_t* p = map.data_as<int64_t>();
  // Circular padding wraps around what is left after negative pads crop.
  const int64_t start = std::max<int64_t>(-l, 0);
  const int64_t kept = n - start - std::max<int64_t>(-r, 0);
  VT_CHECK(mode != PadMode::Circular || kept > 0 || out == 0, "circular padding of a dim of size ",
           n, " by (", l, ", ", r, ") leaves nothing to wrap around");
  for (int64_t o = 0; o < out; ++o) {
    int64_t i = o - l;
    if (mode == PadMode::Reflect) {
      if (i < 0) i = -i;
      if (i >= n) i = 2 * (n - 1) - i;
    } else if (mode == PadMode::Replicate) {
      i = std::clamp<int64_t>(i, 0, n - 1);
    } else {
      int64_t j = o - std::max<int64_t>(l, 0);
      i = start + ((j % kept) + kept) % kept;
    }
    p[o] = i;
  }
  if (device.is_cpu()) return map;
  Tensor on_device = vt::empty(DimVector{out}, ScalarType::Int64, device);
  vt::copy_(on_device, map);
  return on_device;
}

Tensor pad_kernel(const Tensor& self, IntArrayRef pad, std::string_view mode_name,
                  std::optional<double> value) {
  PadMode mode = PadMode::Reflect;
  if (mode_name == "reflect") mode = PadMode::Reflect;
  else if (mode_name == "replicate") mode = PadMode::Replicate;
  else if (mode_name == "circular") mode = PadMode::Circular;
  else if (mode_name != "constant")
    fail(VT_ERROR_NOT_IMPLEMENTED, "Unrecognised padding mode ", std::string(mode_name));
  const int64_t nd = self.dim(), k = int64_t(pad.size()) / 2;
  VT_CHECK(pad.size() % 2 == 0, "Padding length must be divisible by 2");
  VT_CHECK(int64_t(pad.size()) <= 2 * nd, "Padding length should be less than or equal to two times "
           "the input dimension but got padding length ", pad.size(), " and input of dimension ", nd);
  if (mode_name == "constant") return constant_pad(self, pad, value.value_or(0.0));

  VT_CHECK(!value || *value == 0, "Padding mode \"", std::string(mode_name),
           "\" doesn't take in value argument");
  if (k < 1 || k > 3 || (nd != k + 1 && nd != k + 2))
    fail(VT_ERROR_NOT_IMPLEMENTED, "Padding size ", pad.size(), " is not supported for ", nd,
         "D input tensor.\nSupported combinations for non-constant padding:\n"
         "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
         "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
         "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)");
  if (mode != PadMode::Circular) {
    const char* name = mode == PadMode::Reflect ? "reflection_pad" : "replication_pad";
    if (self.dtype() == ScalarType::Bool)
      fail(VT_ERROR_NOT_IMPLEMENTED, "\"", name, k, "d\" not implemented for 'Bool'");
    // The leading dim is a batch (or channel) dim that may be empty; the others may not.
    for (int64_t d = 1; d < nd; ++d)
      VT_CHECK(self.sizes()[d] != 0, "Expected ", k + 1, "D or ", k + 2, "D (batch mode) tensor "
               "with possibly 0 batch size and other non-zero dimensions for input, but got: ",
               shape_string(self.sizes()));
  }
  const char* axis_names[] = {"W", "H", "D"};
  Tensor out = self;
  for (int64_t i = 0; i < k; ++i) {
    int64_t d = padded_dim(self, size_t(i)), n = self.sizes()[d];
    int64_t l = pad[size_t(2 * i)], r = pad[size_t(2 * i + 1)];
    if (mode == PadMode::Reflect)
      VT_CHECK(l < n && r < n, "Argument #4: Padding size should be less than the corresponding "
               "input dimension, but got: padding (", l, ", ", r, ") at dimension ", d,
               " of input ", shape_string(self.sizes()));
    if (mode == PadMode::Circular)
      VT_CHECK(l <= n && r <= n, "Padding value causes wrapping around more than once.");
    VT_CHECK(n + l + r >= 1 || (mode == PadMode::Circular && n + l + r == 0), "input (",
             axis_names[i], ": ", n, ") is too small. Calculated output ", axis_names[i], ": ",
             n + l + r);
    if (l == 0 && r == 0) continue;
    out = vt::index_select(out, d, index_map(mode, n, l, r, self.device()));
  }
  return out.is_same(self) ? vt::clone(self) : out;
}

}  // namespace

namespace shape_detail {

void register_pad_kernels() {
  define_kernel("vt::pad(Tensor self, int[] pad, str mode=\"constant\", float? value=None) -> Tensor",
                VT_DEVICE_ANY, &pad_kernel);
}

}  // namespace shape_detail
}  // namespace vt
