// Derivatives of conv1d/conv2d, written with conv2d itself so that they stay differentiable:
// the input's gradient is the transposed convolution (the gradient spread out by the stride,
// then convolved with the flipped, channel-swapped kernel), the weight's is the correlation of
// the input with the gradient (batch as channels, the stride as dilation). Padding is applied
// to the input explicitly first, which covers asymmetric 'same' padding too.
#include <string>

#include "formula.h"
#include "ops.h"

namespace vt::autograd {
namespace {

using namespace ops;
using G = std::vector<Tensor>;

struct Conv2d {
  int64_t sh, sw, dh, dw, groups;
  int64_t top, bottom, left, right;  // input padding
};

Tensor conv2d(const Tensor& x, const Tensor& w, std::vector<int64_t> stride,
              std::vector<int64_t> dilation, int64_t groups) {
  return call<"vt::conv2d">(x, w, none, stride, std::vector<int64_t>{0, 0}, dilation, groups);
}

// grad_output spread back over stride: (n, c, (oh-1)*sh+1, (ow-1)*sw+1) with zeros between.
Tensor spread(const Tensor& g, int64_t sh, int64_t sw) {
  const std::vector<int64_t> s = g.sizes();
  const int64_t oh = s[2], ow = s[3];
  Tensor r = g;
  if (sw > 1 && ow > 0) {
    std::vector<int64_t> shape{s[0], s[1], oh, (ow - 1) * sw + 1};
    r = index_add(full(shape, 0.0, g.dtype(), g.device()), 3, arange(0, shape[3], sw, g.device()), r);
  }
  if (sh > 1 && oh > 0) {
    std::vector<int64_t> shape{s[0], s[1], (oh - 1) * sh + 1, r.sizes()[3]};
    r = index_add(full(shape, 0.0, g.dtype(), g.device()), 2, arange(0, shape[2], sh, g.device()), r);
  }
  return r;
}

// Gradients of y = conv2d(xp, w) with xp already padded (no padding in the conv).
void conv2d_backward(const Tensor& xp, const Tensor& w, const Tensor& g, const Conv2d& p,
                     bool need_x, bool need_w, Tensor& gx, Tensor& gw) {
  const std::vector<int64_t> xs = xp.sizes(), ws = w.sizes();
  const int64_t cout = ws[0], cin_g = ws[1], kh = ws[2], kw = ws[3], G_ = p.groups;
  if (need_x) {
    Tensor wt = reshape(w, {G_, cout / G_, cin_g, kh, kw});
    wt = reshape(transpose(wt, 1, 2), {G_ * cin_g, cout / G_, kh, kw});
    wt = flip(wt, {2, 3});
    Tensor gz = spread(g, p.sh, p.sw);
    Tensor full_pad = call<"vt::pad">(gz, std::vector<int64_t>{p.dw * (kw - 1), p.dw * (kw - 1),
                                                               p.dh * (kh - 1), p.dh * (kh - 1)},
                                      "constant", 0.0);
    Tensor r = conv2d(full_pad, wt, {1, 1}, {p.dh, p.dw}, G_);
    // Rows and columns the strided windows never reached get no gradient.
    const int64_t extra_h = xs[2] - r.sizes()[2], extra_w = xs[3] - r.sizes()[3];
    if (extra_h || extra_w)
      r = call<"vt::pad">(r, std::vector<int64_t>{0, extra_w, 0, extra_h}, "constant", 0.0);
    gx = r;
  }
  if (need_w) {
    std::vector<Tensor> per_group;
    for (int64_t gi = 0; gi < G_; ++gi) {
      Tensor xg = G_ == 1 ? xp : narrow(xp, 1, gi * cin_g, cin_g);
      Tensor gg = G_ == 1 ? g : narrow(g, 1, gi * (cout / G_), cout / G_);
      // (cin, n, h, w) correlated with (cout, n, oh, ow): stride and dilation trade places.
      Tensor r = conv2d(transpose(xg, 0, 1), transpose(gg, 0, 1), {p.dh, p.dw}, {p.sh, p.sw}, 1);
      r = narrow(narrow(r, 2, 0, kh), 3, 0, kw);
      per_group.push_back(transpose(r, 0, 1));
    }
    gw = G_ == 1 ? per_group[0] : cat(per_group, 0);
  }
}

int64_t at(const std::vector<int64_t>& v, size_t i) { return v.size() == 1 ? v[0] : v[i]; }

// Shared by both overloads and conv1d: normalizes to batched 2-D, pads, differentiates.
G conv_grad(const Ctx& c, bool one_d, bool string_padding) {
  Tensor x = c.tensor(0), w = c.tensor(1), g = c.grad();
  const std::vector<int64_t> stride = c.ints(3), dilation = c.ints(5);
  const int64_t groups = c.i(6);
  const bool unbatched = x.dim() == (one_d ? 2 : 3);
  if (unbatched) {
    x = unsqueeze(x, 0);
    g = unsqueeze(g, 0);
  }
  if (one_d) {
    x = unsqueeze(x, 2);
    g = unsqueeze(g, 2);
    w = unsqueeze(w, 2);
  }
  Conv2d p{};
  p.groups = groups;
  p.sh = one_d ? 1 : at(stride, 0);
  p.sw = one_d ? stride[0] : at(stride, 1);
  p.dh = one_d ? 1 : at(dilation, 0);
  p.dw = one_d ? dilation[0] : at(dilation, 1);
  const int64_t kh = w.sizes()[2], kw = w.sizes()[3];
  if (string_padding) {
    if (c.str(4) == "same") {
      const int64_t th = p.dh * (kh - 1), tw = p.dw * (kw - 1);
      p.top = th / 2, p.bottom = th - th / 2, p.left = tw / 2, p.right = tw - tw / 2;
    }
  } else {
    const std::vector<int64_t> pad = c.ints(4);
    p.top = p.bottom = one_d ? 0 : at(pad, 0);
    p.left = p.right = one_d ? pad[0] : at(pad, 1);
  }
  Tensor xp = (p.top || p.bottom || p.left || p.right)
                  ? call<"vt::pad">(x, std::vector<int64_t>{p.left, p.right, p.top, p.bottom}, "constant", 0.0)
                  : x;
  Tensor gx, gw;
  conv2d_backward(xp, w, g, p, c.needs(0), c.needs(1), gx, gw);
  G r(7);
  if (gx.defined()) {
    const std::vector<int64_t> xs = x.sizes();
    gx = narrow(narrow(gx, 2, p.top, xs[2]), 3, p.left, xs[3]);
    if (one_d) gx = call<"vt::squeeze">(gx, std::vector<int64_t>{2});
    if (unbatched) gx = call<"vt::squeeze">(gx, std::vector<int64_t>{0});
    r[0] = gx;
  }
  if (gw.defined()) r[1] = one_d ? call<"vt::squeeze">(gw, std::vector<int64_t>{2}) : gw;
  if (c.needs(2)) {
    std::vector<int64_t> dims{0};
    for (int64_t d = 2; d < g.dim(); ++d) dims.push_back(d);
    r[2] = sum(g, dims, false);
  }
  return r;
}

}  // namespace

void register_conv_formulas() {
  add_formulas({
      {"vt::conv2d", args(0, 1), 0, 0, [](const Ctx& c) -> G { return conv_grad(c, false, false); }},
      {"vt::conv2d.padding", args(0, 1), 0, 0, [](const Ctx& c) -> G { return conv_grad(c, false, true); }},
      {"vt::conv1d", args(0, 1), 0, 0, [](const Ctx& c) -> G { return conv_grad(c, true, false); }},
      {"vt::conv1d.padding", args(0, 1), 0, 0, [](const Ctx& c) -> G { return conv_grad(c, true, true); }},
  });
}

}  // namespace vt::autograd
