// Derivatives of the nn functional ops. Losses and norms recompute what they need from saved
// inputs; the pooling and interpolation ops are linear and separable, so their gradients are
// products with per-axis matrices obtained by running the forward op itself on an identity
// (which keeps index and rounding rules identical to the forward kernel's).
#include <cmath>
#include <limits>

#include "formula.h"
#include "grad_mode.h"
#include "ops.h"

namespace vt::autograd {
namespace {

using namespace ops;
using G = std::vector<Tensor>;

constexpr int64_t kNone = 0, kMean = 1, kSum = 2;  // vt's reduction codes, as torch's

bool is_half(int32_t dtype) { return dtype == VT_DTYPE_FLOAT16 || dtype == VT_DTYPE_BFLOAT16; }
// 16-bit floats are differentiated in float32 (the engine casts the result back).
Tensor wide(const Tensor& t) { return is_half(t.dtype()) ? to_dtype(t, VT_DTYPE_FLOAT32) : t; }

Tensor scalar_like(double v, const Tensor& like) { return full({}, v, like.dtype(), like.device()); }

std::vector<int64_t> last_dims(int64_t ndim, size_t k) {
  std::vector<int64_t> d;
  for (int64_t i = ndim - int64_t(k); i < ndim; ++i) d.push_back(i);
  return d;
}

Tensor mean_keep(const Tensor& t, const std::vector<int64_t>& dims) {
  return call<"vt::mean">(t, dims, true);
}

// Gradient of y = xhat * w (+ b) with xhat = (x - mean) * rstd over `dims`.
Tensor norm_input_grad(const Tensor& gw, const Tensor& xhat, const Tensor& rstd,
                       const std::vector<int64_t>& dims, bool centered) {
  Tensor inner = sub(gw, mul(xhat, mean_keep(mul(gw, xhat), dims)));
  if (centered) inner = sub(inner, mean_keep(gw, dims));
  return mul(rstd, inner);
}

// An optional tensor argument: none when undefined.
vt_value_t opt(const Tensor& t) { return t.defined() ? vt::cpp::arg(t) : vt::cpp::arg_none(); }

// A Tensor[] result spread over gradient slots: the k-th tensor goes to the k-th slot that asked.
G spread_grads(const vt::cpp::Value& list, size_t slots, std::initializer_list<std::pair<size_t, bool>> asked) {
  G r(slots);
  const vt_value_t& v = list.raw();
  int64_t k = 0;
  for (auto [slot, wanted] : asked)
    if (wanted && k < v.u.tensors.size) r[slot] = Tensor::borrow(v.u.tensors.data[k++]);
  return r;
}

// The fused kernels below run when no graph of the backward itself is recorded; a create_graph
// backward takes the composed formulas, which are themselves differentiable.

G layer_norm_grad(const Ctx& c) {
  if (!grad_enabled()) {
    const bool dx = c.needs(0), dw = c.needs(2) && c.tensor(2).defined(), db = c.needs(3);
    auto r = call_values<"vt::_layer_norm_backward">(c.grad(), c.tensor(0), c.ints(1), opt(c.tensor(2)), c.d(4),
                                                      dx, dw, db);
    return spread_grads(r[0], 4, {{0, dx}, {2, dw}, {3, db}});
  }
  Tensor x = wide(c.tensor(0)), g = wide(c.grad()), w = c.tensor(2);
  const std::vector<int64_t> dims = last_dims(x.dim(), c.ints(1).size());
  Tensor xc = sub(x, mean_keep(x, dims));
  Tensor rstd = rsqrt(add(mean_keep(mul(xc, xc), dims), c.d(4)));
  Tensor xhat = mul(xc, rstd);
  G r(4);
  if (c.needs(0)) r[0] = norm_input_grad(w.defined() ? mul(g, wide(w)) : g, xhat, rstd, dims, true);
  if (c.needs(2)) r[2] = mul(g, xhat);
  if (c.needs(3)) r[3] = g;
  return r;
}

// rms_norm's default eps: the machine epsilon of the compute type (float32 for 16-bit inputs),
// as the forward kernel and torch use.
double dtype_eps(int32_t dtype) {
  return dtype == VT_DTYPE_FLOAT64 ? std::numeric_limits<double>::epsilon() : std::numeric_limits<float>::epsilon();
}

G rms_norm_grad(const Ctx& c) {
  const double eps = c.is_none(3) ? dtype_eps(c.dtype(0)) : c.d(3);
  if (!grad_enabled()) {
    const bool dx = c.needs(0), dw = c.needs(2) && c.tensor(2).defined();
    auto r = call_values<"vt::_rms_norm_backward">(c.grad(), c.tensor(0), c.ints(1), opt(c.tensor(2)), eps, dx, dw);
    return spread_grads(r[0], 3, {{0, dx}, {2, dw}});
  }
  Tensor x = wide(c.tensor(0)), g = wide(c.grad()), w = c.tensor(2);
  const std::vector<int64_t> dims = last_dims(x.dim(), c.ints(1).size());
  Tensor rstd = rsqrt(add(mean_keep(mul(x, x), dims), eps));
  Tensor xhat = mul(x, rstd);
  G r(4);
  if (c.needs(0)) r[0] = norm_input_grad(w.defined() ? mul(g, wide(w)) : g, xhat, rstd, dims, false);
  if (c.needs(2)) r[2] = mul(g, xhat);
  return r;
}

G group_norm_grad(const Ctx& c) {
  Tensor x = wide(c.tensor(0)), g = wide(c.grad()), w = c.tensor(2);
  const std::vector<int64_t> shape = x.sizes();
  const int64_t n = shape[0], groups = c.i(1), ch = shape[1];
  std::vector<int64_t> per_channel(shape.size(), 1);
  per_channel[1] = ch;
  std::vector<int64_t> all_but_channel;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) if (d != 1) all_but_channel.push_back(d);
  int64_t per_group = 1;
  for (size_t d = 1; d < shape.size(); ++d) per_group *= shape[d];
  per_group = groups ? per_group / groups : 0;
  Tensor xr = reshape(x, {n, groups, per_group});
  Tensor xc = sub(xr, mean_keep(xr, {2}));
  Tensor rstd = rsqrt(add(mean_keep(mul(xc, xc), {2}), c.d(4)));
  Tensor xhat = mul(xc, rstd);
  G r(5);
  if (c.needs(0)) {
    Tensor gw = w.defined() ? mul(g, reshape(wide(w), per_channel)) : g;
    r[0] = reshape(norm_input_grad(reshape(gw, {n, groups, per_group}), xhat, rstd, {2}, true), shape);
  }
  if (c.needs(2)) r[2] = sum(mul(g, reshape(xhat, shape)), all_but_channel, false);
  if (c.needs(3)) r[3] = sum(g, all_but_channel, false);
  return r;
}

double numel_d(const std::vector<int64_t>& s) {
  double n = 1;
  for (int64_t v : s) n *= double(v);
  return n;
}

// Class dim of a loss input: 1 when batched, 0 for a single (C) sample.
int64_t class_dim(const Tensor& x) { return x.dim() == 1 ? 0 : 1; }

// one_hot(target) laid out like x (class dim at class_dim(x)), in x's dtype.
Tensor one_hot_like(const Tensor& target, const Tensor& x) {
  const int64_t cd = class_dim(x), classes = x.sizes()[size_t(cd)];
  Tensor oh = to_dtype(call<"vt::one_hot">(target, classes), x.dtype());
  return x.dim() > 1 ? call<"vt::movedim">(oh, std::vector<int64_t>{-1}, std::vector<int64_t>{cd}) : oh;
}

// A per-class weight broadcastable against x.
Tensor class_weight(const Tensor& w, const Tensor& x) {
  if (x.dim() <= 1) return wide(w);
  std::vector<int64_t> shape(size_t(x.dim()), 1);
  shape[1] = w.sizes()[0];
  return reshape(wide(w), shape);
}

// The loss gradient scaled by the reduction: per-sample g, or g / denominator for a mean.
Tensor reduce_scale(const Tensor& g, int64_t reduction, const Tensor& denom) {
  if (reduction == kMean) return div(g, denom);
  return g;
}

Tensor unsqueeze_class(const Tensor& t, const Tensor& x) {
  return x.dim() > 1 ? unsqueeze(t, 1) : t;
}

G cross_entropy_grad(const Ctx& c) {
  const int64_t reduction = c.i(3), ignore = c.i(4);
  const double ls = c.d(5);
  if (!grad_enabled() && !c.needs(1)) {
    G r(6);
    r[0] = call<"vt::_cross_entropy_backward">(c.grad(), c.tensor(0), c.tensor(1), opt(c.tensor(2)), reduction,
                                               ignore, ls);
    return r;
  }
  Tensor x = wide(c.tensor(0)), target = c.tensor(1), w = c.tensor(2), g = wide(c.grad());
  const int64_t cd = class_dim(x);
  const double classes = double(x.sizes()[size_t(cd)]);
  Tensor logp = call<"vt::log_softmax.int">(x, cd);
  Tensor p = exp(logp);
  Tensor wb = w.defined() ? class_weight(w, x) : Tensor();
  G r(6);
  if (is_floating_dtype(target.dtype())) {
    Tensor tgt = wide(target);
    if (ls > 0) tgt = add(mul(tgt, 1.0 - ls), ls / classes);
    Tensor wt = wb.defined() ? mul(tgt, wb) : tgt;
    Tensor s = sum(wt, {cd}, true);
    const double samples = numel_d(x.sizes()) / classes;
    Tensor gs = reduction == kNone ? unsqueeze_class(g, x)
                                   : reduce_scale(g, reduction, scalar_like(samples, g));
    if (c.needs(0)) r[0] = mul(sub(mul(p, s), wt), gs);
    if (c.needs(1)) {
      Tensor tg = mul(wb.defined() ? mul(logp, wb) : logp, -(1.0 - ls));
      r[1] = mul(tg, gs);
    }
    return r;
  }
  Tensor valid = call<"vt::ne.Scalar">(target, ignore);
  Tensor t = call<"vt::masked_fill.Scalar">(to_dtype(target, VT_DTYPE_INT64), logical_not(valid), int64_t(0));
  Tensor oh = one_hot_like(t, x);
  Tensor w_t = wb.defined() ? sum(mul(oh, wb), {cd}, false) : full(t.sizes(), 1.0, x.dtype(), x.device());
  Tensor coef = mul(to_dtype(valid, x.dtype()), w_t);
  Tensor gs = reduction == kNone ? g : reduce_scale(g, reduction, sum_all(coef));
  Tensor d = mul(sub(p, oh), unsqueeze_class(mul(coef, 1.0 - ls), x));
  if (ls > 0) {
    Tensor total_w = wb.defined() ? sum_all(w) : scalar_like(classes, x);
    Tensor smooth = sub(mul(p, wide(total_w)), wb.defined() ? wb : scalar_like(1.0, x));
    d = add(d, mul(smooth, unsqueeze_class(mul(to_dtype(valid, x.dtype()), ls / classes), x)));
  }
  if (c.needs(0)) r[0] = mul(d, reduction == kNone ? unsqueeze_class(gs, x) : gs);
  return r;
}

G nll_loss_grad(const Ctx& c) {
  Tensor x = c.tensor(0), target = c.tensor(1), w = c.tensor(2), g = c.grad();
  const int64_t reduction = c.i(3), ignore = c.i(4);
  const int64_t cd = class_dim(x);
  Tensor valid = call<"vt::ne.Scalar">(target, ignore);
  Tensor t = call<"vt::masked_fill.Scalar">(to_dtype(target, VT_DTYPE_INT64), logical_not(valid), int64_t(0));
  Tensor oh = one_hot_like(t, x);
  Tensor wb = w.defined() ? class_weight(w, x) : Tensor();
  Tensor w_t = wb.defined() ? sum(mul(oh, to_dtype(wb, x.dtype())), {cd}, false)
                            : full(t.sizes(), 1.0, x.dtype(), x.device());
  Tensor coef = mul(to_dtype(valid, x.dtype()), w_t);
  Tensor gs = reduction == kNone ? mul(g, coef) : mul(reduce_scale(g, reduction, sum_all(coef)), coef);
  return {neg(mul(oh, unsqueeze_class(gs, x)))};
}

// Elementwise losses: d(loss)/d(input) = local * g (scaled for a mean over the broadcast shape).
Tensor pointwise_loss_scale(const Ctx& c, const Tensor& local) {
  Tensor g = c.grad();
  if (c.i(2) == kMean) return mul(local, div(g, scalar_like(numel_d(local.sizes()), g)));
  return mul(local, g);
}

G bce_grad(const Ctx& c) {
  Tensor x = c.tensor(0), y = c.tensor(1), w = c.tensor(2), g = c.grad();
  const int64_t reduction = c.i(3);
  Tensor scale = reduction == kMean ? div(g, scalar_like(numel_d(x.sizes()), g)) : g;
  if (w.defined()) scale = mul(scale, w);
  G r(4);
  if (c.needs(0)) {
    Tensor denom = call<"vt::clamp_min.Scalar">(mul(rsub(x, 1.0), x), 1e-12);
    r[0] = mul(div(sub(x, y), denom), scale);
  }
  if (c.needs(1)) r[1] = mul(sub(log(rsub(x, 1.0)), log(x)), scale);
  return r;
}

G bce_logits_grad(const Ctx& c) {
  Tensor x = c.tensor(0), y = c.tensor(1), w = c.tensor(2), pw = c.tensor(3), g = c.grad();
  const int64_t reduction = c.i(4);
  Tensor shape_ref = add(mul(x, 0.0), mul(y, 0.0));  // the broadcast shape of the loss
  Tensor scale = reduction == kMean ? div(g, scalar_like(numel_d(shape_ref.sizes()), g)) : g;
  if (w.defined()) scale = mul(scale, w);
  Tensor s = sigmoid(x);
  G r(5);
  if (c.needs(0)) {
    Tensor d = pw.defined() ? sub(mul(s, add(sub(mul(pw, y), y), 1.0)), mul(pw, y)) : sub(s, y);
    r[0] = mul(d, scale);
  }
  if (c.needs(1)) {
    // log(1 - s) - pw log(s) = pw softplus(-x) - softplus(x), without log(0) at large |x|
    auto softplus = [](const Tensor& z) { return add(relu(z), call<"vt::log1p">(exp(neg(abs(z))))); };
    Tensor sp = softplus(x), sn = softplus(neg(x));
    r[1] = mul(sub(pw.defined() ? mul(pw, sn) : sn, sp), scale);
  }
  return r;
}

// The matrix A (out_len x in_len) with forward(e_k) = A[:, k] along one axis: the forward op
// run on an identity laid out as (1, in_len, in_len[, 1]) channels.
template <typename Forward>
Tensor axis_matrix(int64_t in_len, bool two_d, bool height, const Tensor& like, Forward forward) {
  Tensor eye = call<"vt::eye">(in_len, vt::cpp::arg_none(), DType{like.dtype()}, vt::cpp::arg_device(like.device()));
  std::vector<int64_t> shape = two_d ? (height ? std::vector<int64_t>{1, in_len, in_len, 1}
                                               : std::vector<int64_t>{1, in_len, 1, in_len})
                                     : std::vector<int64_t>{1, in_len, in_len};
  Tensor out = forward(reshape(eye, shape));  // (1, in_len, out_len[, 1]) : channel k = column k
  Tensor m = reshape(out, {in_len, -1});      // (in_len, out_len) = A^T
  return m;
}

// grad_in = A_h^T g A_w for a separable 2-D op, given the transposed matrices.
Tensor separable_2d(const Tensor& g, const Tensor& ah_t, const Tensor& aw_t) {
  return matmul(matmul(ah_t, g), transpose(aw_t, 0, 1));
}

template <typename Op2d>
Tensor separable_grad_2d(const Ctx& c, Op2d op) {
  Tensor g = c.grad();
  const std::vector<int64_t>& s = c.sizes(0);
  const int64_t h = s[s.size() - 2], w = s[s.size() - 1];
  Tensor ah_t = axis_matrix(h, true, true, g, [&](const Tensor& t) { return op(t, true); });
  Tensor aw_t = axis_matrix(w, true, false, g, [&](const Tensor& t) { return op(t, false); });
  return separable_2d(g, ah_t, aw_t);
}

G sdpa_grad(const Ctx& c) {
  if (c.d(4) > 0.0)
    fail(VT_ERROR_NOT_IMPLEMENTED, "the derivative of scaled_dot_product_attention with "
         "dropout_p > 0 is not implemented");
  Tensor q = wide(c.tensor(0)), k = wide(c.tensor(1)), v = wide(c.tensor(2)), mask = c.tensor(3);
  Tensor g = wide(c.grad());
  const int64_t e = q.sizes().back(), L = q.sizes()[q.sizes().size() - 2], S = k.sizes()[k.sizes().size() - 2];
  const double scale = c.is_none(6) ? 1.0 / std::sqrt(double(e)) : c.d(6);
  const bool gqa = c.b(7) && q.dim() >= 3 && k.sizes()[k.sizes().size() - 3] != q.sizes()[q.sizes().size() - 3];
  int64_t rep = 1;
  auto repeat_heads = [&](const Tensor& t) {
    if (!gqa) return t;
    std::vector<int64_t> s = t.sizes();
    const size_t hd = s.size() - 3;
    rep = q.sizes()[hd] / s[hd];
    Tensor u = unsqueeze(t, int64_t(hd) + 1);
    std::vector<int64_t> ex = u.sizes();
    ex[hd + 1] = rep;
    std::vector<int64_t> flat = s;
    flat[hd] *= rep;
    return reshape(expand(u, ex), flat);
  };
  auto unrepeat = [&](const Tensor& t, const std::vector<int64_t>& sizes) {
    if (!gqa) return t;
    const size_t hd = sizes.size() - 3;
    std::vector<int64_t> split = sizes;
    split.insert(split.begin() + int64_t(hd) + 1, rep);
    return sum(reshape(t, split), {int64_t(hd) + 1}, false);
  };
  Tensor kk = repeat_heads(k), vv = repeat_heads(v);
  bool same_batch = q.dim() == kk.dim() && q.dim() == vv.dim();
  for (int64_t d = 0; same_batch && d < q.dim() - 2; ++d)
    same_batch = q.sizes()[size_t(d)] == kk.sizes()[size_t(d)] && q.sizes()[size_t(d)] == vv.sizes()[size_t(d)];
  const bool float_mask_needs_grad = mask.defined() && mask.dtype() != VT_DTYPE_BOOL && c.needs(3);
  if (!grad_enabled() && same_batch && !float_mask_needs_grad && q.numel() && k.numel()) {
    // The fused kernel recomputes each block's probabilities itself (no forward pass first).
    const Tensor mask_c = mask.defined() && mask.dtype() != VT_DTYPE_BOOL ? wide(mask) : mask;
    auto bwd = call_values<"vt::_sdpa_backward">(g, q, kk, vv, none, none, opt(mask_c), c.b(5), scale);
    G r(8);
    if (c.needs(0)) r[0] = Tensor(std::move(bwd[0]));
    if (c.needs(1)) r[1] = unrepeat(Tensor(std::move(bwd[1])), k.sizes());
    if (c.needs(2)) r[2] = unrepeat(Tensor(std::move(bwd[2])), v.sizes());
    return r;
  }
  Tensor s = mul(matmul(q, transpose(kk, -2, -1)), scale);
  if (c.b(5)) {
    Tensor causal = call<"vt::triu">(full({L, S}, 1.0, VT_DTYPE_BOOL, q.device()), int64_t(1));
    s = masked_fill(s, causal, -std::numeric_limits<double>::infinity());
  }
  if (mask.defined()) {
    if (mask.dtype() == VT_DTYPE_BOOL) s = masked_fill(s, logical_not(mask), -std::numeric_limits<double>::infinity());
    else s = add(s, wide(mask));
  }
  Tensor p = call<"vt::nan_to_num">(call<"vt::softmax.int">(s, int64_t(-1)), 0.0);
  Tensor dv = matmul(transpose(p, -2, -1), g);
  Tensor dp = matmul(g, transpose(vv, -2, -1));
  Tensor ds = mul(p, sub(dp, sum(mul(dp, p), {-1}, true)));
  G r(8);
  if (c.needs(0)) r[0] = mul(matmul(ds, kk), scale);
  if (c.needs(1)) r[1] = unrepeat(mul(matmul(transpose(ds, -2, -1), q), scale), k.sizes());
  if (c.needs(2)) r[2] = unrepeat(dv, v.sizes());
  if (c.needs(3) && mask.defined() && mask.dtype() != VT_DTYPE_BOOL) r[3] = ds;
  return r;
}

Tensor max_pool_grad(const Ctx& c, const Tensor& indices) {
  Tensor g = c.grad();
  const std::vector<int64_t>& s = c.sizes(0);
  std::vector<int64_t> lead(s.begin(), s.end() - 2), flat_in = lead, flat_out = lead;
  const std::vector<int64_t>& os = g.sizes();
  flat_in.push_back(s[s.size() - 2] * s[s.size() - 1]);
  flat_out.push_back(os[os.size() - 2] * os[os.size() - 1]);
  Tensor z = full(flat_in, 0.0, g.dtype(), g.device());
  Tensor r = call<"vt::scatter_add">(z, int64_t(lead.size()), reshape(indices, flat_out), reshape(g, flat_out));
  return reshape(r, s);
}

}  // namespace

void register_nn_formulas() {
  add_formulas({
      {"vt::softmax.int", 0, 1, 0, [](const Ctx& c) -> G {
         Tensor y = c.output(), g = c.grad();
         if (g.dtype() != y.dtype()) g = to_dtype(g, y.dtype());
         if (!grad_enabled()) return {call<"vt::_softmax_backward_data">(g, y, c.i(1))};
         return {mul(y, sub(g, sum(mul(g, y), {c.i(1)}, true)))}; }},
      {"vt::log_softmax.int", 0, 1, 0, [](const Ctx& c) -> G {
         Tensor y = c.output(), g = c.grad();
         if (!grad_enabled()) return {call<"vt::_log_softmax_backward_data">(g, y, c.i(1))};
         return {sub(g, mul(exp(y), sum(g, {c.i(1)}, true)))}; }},
      {"vt::cross_entropy_loss", args(0, 1, 2), 0, 0, cross_entropy_grad},
      {"vt::nll_loss", args(0, 1, 2), 0, args(1), nll_loss_grad},
      {"vt::mse_loss", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor d = mul(sub(c.tensor(0), c.tensor(1)), 2.0);
         Tensor gx = pointwise_loss_scale(c, d);
         return {c.needs(0) ? gx : Tensor(), c.needs(1) ? neg(gx) : Tensor()}; }},
      {"vt::l1_loss", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor gx = pointwise_loss_scale(c, sign(sub(c.tensor(0), c.tensor(1))));
         return {c.needs(0) ? gx : Tensor(), c.needs(1) ? neg(gx) : Tensor()}; }},
      {"vt::binary_cross_entropy", args(0, 1, 2), 0, args(2), bce_grad},
      {"vt::binary_cross_entropy_with_logits", args(0, 1, 2, 3), 0, args(2, 3), bce_logits_grad},
      {"vt::layer_norm", args(0, 2), 0, 0, layer_norm_grad},
      {"vt::rms_norm", args(0, 2), 0, 0, rms_norm_grad},
      {"vt::group_norm", args(0, 2), 0, 0, group_norm_grad},
      {"vt::embedding", args(1), 0, args(1), [](const Ctx& c) -> G {
         if (c.b(3))
           fail(VT_ERROR_NOT_IMPLEMENTED, "the derivative of embedding with scale_grad_by_freq=True "
                "is not implemented");
         Tensor idx = reshape(c.tensor(1), {-1}), g = c.grad();
         const int64_t dim = c.sizes(0)[1];
         Tensor rows = reshape(g, {-1, dim});
         if (c.i(2) >= 0)
           rows = masked_fill(rows, unsqueeze(call<"vt::eq.Scalar">(idx, c.i(2)), 1), 0.0);
         return {index_add(full(c.sizes(0), 0.0, g.dtype(), g.device()), 0, idx, rows)}; }},
      {"vt::scaled_dot_product_attention", args(0, 1, 2, 3), 0, 0, sdpa_grad},
      // dropout is bernoulli then _masked_scale: the gradient goes through the same mask.
      {"vt::_masked_scale", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         return {c.needs(0) ? call<"vt::_masked_scale">(c.grad(), c.tensor(1), c.d(2)) : Tensor(),
                 c.needs(1) ? mul(mul(c.grad(), c.tensor(0)), c.d(2)) : Tensor()}; }},
      {"vt::max_pool2d", args(0), 0, 0, [](const Ctx& c) -> G {
         auto res = call_values<"vt::max_pool2d_with_indices">(c.tensor(0), c.ints(1), c.ints(2), c.ints(3),
                                                              c.ints(4), c.b(5));
         return {max_pool_grad(c, Tensor(std::move(res[1])))}; }},
      {"vt::max_pool2d_with_indices", 0, 2, 0, [](const Ctx& c) -> G {
         return {max_pool_grad(c, c.output(1))}; }},
      {"vt::avg_pool2d", 0, 0, 0, [](const Ctx& c) -> G {
         const std::vector<int64_t> k = c.ints(1), st = c.ints(2).empty() ? c.ints(1) : c.ints(2), pd = c.ints(3);
         auto at = [](const std::vector<int64_t>& v, size_t i) { return v.size() == 1 ? v[0] : v[i]; };
         const bool has_div = !c.is_none(6);
         Tensor gr = separable_grad_2d(c, [&](const Tensor& t, bool height) {
           std::vector<int64_t> kk{height ? at(k, 0) : 1, height ? 1 : at(k, 1)};
           std::vector<int64_t> ss{height ? at(st, 0) : 1, height ? 1 : at(st, 1)};
           std::vector<int64_t> pp{height ? at(pd, 0) : 0, height ? 0 : at(pd, 1)};
           if (has_div) return call<"vt::avg_pool2d">(t, kk, ss, pp, c.b(4), c.b(5), int64_t(1));
           return call<"vt::avg_pool2d">(t, kk, ss, pp, c.b(4), c.b(5));
         });
         if (has_div) gr = div(gr, scalar_like(double(c.i(6)), gr));
         return {gr}; }},
      {"vt::adaptive_avg_pool2d", 0, 0, 0, [](const Ctx& c) -> G {
         const std::vector<int64_t>& os = c.output_sizes();
         const int64_t oh = os[os.size() - 2], ow = os[os.size() - 1];
         return {separable_grad_2d(c, [&](const Tensor& t, bool height) {
           return call<"vt::adaptive_avg_pool2d">(t, std::vector<int64_t>{height ? oh : 1, height ? 1 : ow});
         })}; }},
      {"vt::upsample_nearest2d", 0, 0, 0, [](const Ctx& c) -> G {
         const std::vector<int64_t>& os = c.output_sizes();
         const int64_t oh = os[os.size() - 2], ow = os[os.size() - 1];
         return {separable_grad_2d(c, [&](const Tensor& t, bool height) {
           std::vector<int64_t> size{height ? oh : 1, height ? 1 : ow};
           vt_value_t sh = c.is_none(2) || !height ? vt::cpp::arg_none() : vt::cpp::arg(c.d(2));
           vt_value_t sw = c.is_none(3) || height ? vt::cpp::arg_none() : vt::cpp::arg(c.d(3));
           return call<"vt::upsample_nearest2d">(t, size, sh, sw);
         })}; }},
      {"vt::upsample_bilinear2d", 0, 0, 0, [](const Ctx& c) -> G {
         const std::vector<int64_t>& os = c.output_sizes();
         const int64_t oh = os[os.size() - 2], ow = os[os.size() - 1];
         return {separable_grad_2d(c, [&](const Tensor& t, bool height) {
           std::vector<int64_t> size{height ? oh : 1, height ? 1 : ow};
           vt_value_t sh = c.is_none(3) || !height ? vt::cpp::arg_none() : vt::cpp::arg(c.d(3));
           vt_value_t sw = c.is_none(4) || height ? vt::cpp::arg_none() : vt::cpp::arg(c.d(4));
           return call<"vt::upsample_bilinear2d">(t, size, c.b(2), sh, sw);
         })}; }},
      {"vt::upsample_nearest1d", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t len = c.sizes(0).back(), out_len = c.output_sizes().back();
         Tensor a_t = axis_matrix(len, false, false, c.grad(), [&](const Tensor& t) {
           return call<"vt::upsample_nearest1d">(t, std::vector<int64_t>{out_len},
                                                 c.is_none(2) ? vt::cpp::arg_none() : vt::cpp::arg(c.d(2)));
         });
         return {matmul(c.grad(), transpose(a_t, 0, 1))}; }},
      {"vt::upsample_linear1d", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t len = c.sizes(0).back(), out_len = c.output_sizes().back();
         Tensor a_t = axis_matrix(len, false, false, c.grad(), [&](const Tensor& t) {
           return call<"vt::upsample_linear1d">(t, std::vector<int64_t>{out_len}, c.b(2),
                                                c.is_none(3) ? vt::cpp::arg_none() : vt::cpp::arg(c.d(3)));
         });
         return {matmul(c.grad(), transpose(a_t, 0, 1))}; }},
  });
}

}  // namespace vt::autograd
