// Derivatives of the reductions: the gradient is brought back to the input's shape (reduced
// dims re-inserted, then expanded), and value-selecting reductions route it to the chosen
// elements (ties share it evenly, as in torch).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "formula.h"
#include "ops.h"

namespace vt::autograd {
namespace {

using namespace ops;
using G = std::vector<Tensor>;

// The reduced dims of a call, wrapped and sorted; all dims when `dims` is empty.
std::vector<int64_t> reduced_dims(const std::vector<int64_t>& dims, int64_t ndim) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(d < 0 ? d + std::max<int64_t>(ndim, 1) : d);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A reduced result (or its gradient) made broadcastable against the input again.
Tensor unreduce(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim, int64_t ndim) {
  if (keepdim || ndim == 0) return t;
  Tensor r = t;
  for (int64_t d : reduced_dims(dims, ndim)) r = unsqueeze(r, d);
  return r;
}

std::vector<int64_t> dims_arg(const Ctx& c, size_t arg) {
  return c.is_none(arg) ? std::vector<int64_t>{} : c.ints(arg);
}

int64_t numel_of(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

// Gradient of a value-selecting reduction over `dims` whose result is `out`: shared evenly by
// every element equal to the result.
Tensor evenly_distribute(const Tensor& g, const Tensor& x, const Tensor& out,
                         const std::vector<int64_t>& dims, bool keepdim) {
  const int64_t nd = x.dim();
  Tensor o = unreduce(out, dims, keepdim, nd), gg = unreduce(g, dims, keepdim, nd);
  Tensor hit = to_dtype(eq(x, o), g.dtype());
  Tensor count = sum(hit, reduced_dims(dims, nd), true);
  return div(mul(hit, gg), count);
}

// Gradient routed through the indices a reduction along `dim` picked.
Tensor route_by_indices(const Tensor& g, const Tensor& idx, int64_t dim, bool keepdim,
                        const std::vector<int64_t>& sizes, int32_t dtype, vt_device_t device) {
  Tensor gg = g, ii = idx;
  if (!keepdim && !sizes.empty()) {
    gg = unsqueeze(gg, dim);
    ii = unsqueeze(ii, dim);
  }
  return call<"vt::scatter.src">(full(sizes, 0.0, dtype, device), dim, ii, gg);
}

Tensor var_grad(const Ctx& c, bool is_std) {
  Tensor x = c.tensor(0), g = c.grad(0);
  const std::vector<int64_t> dims = dims_arg(c, 1);
  const bool keepdim = c.b(3);
  const double corr = c.is_none(2) ? 1.0 : c.d(2);
  const int64_t nd = c.dim(0);
  const std::vector<int64_t> rd = reduced_dims(dims, nd);
  int64_t n = 1;
  for (int64_t d : rd) n *= nd ? c.sizes(0)[size_t(d)] : 1;
  Tensor mean = call<"vt::mean">(x, rd, true);
  Tensor centered = sub(x, mean);
  Tensor gg = unreduce(g, dims, keepdim, nd);
  const double denom = std::max(double(n) - corr, 0.0);
  if (!is_std) return mul(mul(gg, centered), 2.0 / denom);
  Tensor sd = unreduce(c.output(), dims, keepdim, nd);
  Tensor r = div(mul(gg, centered), mul(sd, denom));
  return where(eq(sd, full({}, 0.0, sd.dtype(), sd.device())), zeros_like(r), r);  // as torch
}

// Product of every element of x along `dim` but itself: exclusive cumulative products from
// both ends, so zeros need no division.
Tensor prod_others(const Tensor& x, int64_t dim) {
  const int64_t n = x.sizes()[size_t(dim)];
  if (n == 0) return x;
  std::vector<int64_t> one = x.sizes();
  one[size_t(dim)] = 1;
  Tensor ones = full(one, 1.0, x.dtype(), x.device());
  Tensor left = call<"vt::cumprod">(x, dim);
  Tensor right = flip(call<"vt::cumprod">(flip(x, {dim}), dim), {dim});
  if (n == 1) return ones;
  Tensor left_ex = narrow(left, dim, 0, n - 1), right_ex = narrow(right, dim, 1, n - 1);
  return mul(cat({ones, left_ex}, dim), cat({right_ex, ones}, dim));
}

Tensor prod_grad(const Ctx& c) {
  Tensor x = c.tensor(0), g = c.grad();
  if (c.is_none(1)) {
    Tensor flat = reshape(x, {-1});
    return reshape(mul(prod_others(flat, 0), g), c.sizes(0));
  }
  int64_t dim = c.i(1);
  const int64_t nd = c.dim(0);
  if (dim < 0) dim += std::max<int64_t>(nd, 1);
  if (nd == 0) return g;
  return mul(prod_others(x, dim), unreduce(g, {dim}, c.b(2), nd));
}

Tensor norm_grad(const Ctx& c) {
  Tensor x = c.tensor(0), g = c.grad();
  const double p = c.is_none(1) ? 2.0 : c.d(1);
  const std::vector<int64_t> dims = dims_arg(c, 2);
  const bool keepdim = c.b(3);
  const int64_t nd = c.dim(0);
  Tensor gg = unreduce(g, dims, keepdim, nd);
  Tensor n = unreduce(c.output(), dims, keepdim, nd);
  if (p == 0.0) return zeros_like(x);
  if (p == 1.0) return mul(gg, sign(x));
  if (std::isinf(p)) {
    Tensor ax = abs(x);
    Tensor hit = to_dtype(eq(ax, n), x.dtype());
    Tensor count = sum(hit, reduced_dims(dims, nd), true);
    return div(mul(mul(hit, sign(x)), gg), count);
  }
  Tensor zero = eq(n, full({}, 0.0, n.dtype(), n.device()));
  Tensor r = p == 2.0 ? div(mul(gg, x), n)
                      : div(mul(mul(gg, x), pow(abs(x), p - 2.0)), pow(n, p - 1.0));
  return where(zero, zeros_like(r), r);
}

// var_mean / std_mean: the gradient of the first result plus that of the mean.
Tensor moments_grad(const Ctx& c, bool is_std) {
  Tensor r;
  if (c.has_grad(0)) r = var_grad(c, is_std);
  if (c.has_grad(1)) {
    const int64_t n = numel_of(c.sizes(0)) / std::max<int64_t>(numel_of(c.output_sizes(1)), 1);
    Tensor g = unreduce(c.grad(1), dims_arg(c, 1), c.b(3), c.dim(0));
    Tensor m = expand(div(g, full({}, double(n), g.dtype(), g.device())), c.sizes(0));
    r = r.defined() ? add(r, m) : m;
  }
  return r;
}

// cumprod: sum over j >= i of g_j * out_j / x_i; with a zero in x the division is replaced by
// recomputing each position's products with x_i set to 1.
Tensor cumprod_grad(const Ctx& c) {
  Tensor x = c.tensor(0), g = c.grad(), out = c.output();
  const int64_t nd = c.dim(0);
  if (nd == 0) return g;
  const int64_t dim = c.i(1) < 0 ? c.i(1) + nd : c.i(1), n = c.sizes(0)[size_t(dim)];
  if (n == 0) return zeros_like(x);
  if (!any_true(eq(x, full({}, 0.0, x.dtype(), x.device())))) {
    Tensor t = flip(call<"vt::cumsum">(flip(mul(g, out), {dim}), dim), {dim});
    return div(t, x);
  }
  std::vector<int64_t> one = x.sizes();
  one[size_t(dim)] = 1;
  Tensor ones = full(one, 1.0, x.dtype(), x.device());
  std::vector<Tensor> pieces;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<Tensor> parts;
    if (i > 0) parts.push_back(narrow(x, dim, 0, i));
    parts.push_back(ones);
    if (i + 1 < n) parts.push_back(narrow(x, dim, i + 1, n - i - 1));
    Tensor cp = call<"vt::cumprod">(cat(parts, dim), dim);
    pieces.push_back(sum(narrow(mul(g, cp), dim, i, n - i), {dim}, true));
  }
  return cat(pieces, dim);
}

// scatter_reduce(self, dim, index, src, reduce, include_self) for sum, mean, amax, amin, prod.
G scatter_reduce_grad(const Ctx& c) {
  Tensor self = c.tensor(0), idx = c.tensor(2), src = c.tensor(3), out = c.output(), g = c.grad();
  const int64_t dim = c.i(1);
  const std::string reduce = c.str(4);
  const bool include_self = c.b(5);
  auto scatter_add = [&](const Tensor& base, const Tensor& values) {
    return call<"vt::scatter_add">(base, dim, idx, values);
  };
  auto gather = [&](const Tensor& t) { return call<"vt::gather">(t, dim, idx); };
  Tensor zeros_self = zeros_like(g), ones_src = full(src.sizes(), 1.0, g.dtype(), g.device());
  // Positions some src element reaches: only they are reduced; the rest copy self.
  Tensor hit = gt(scatter_add(zeros_self, ones_src), 0.0);
  G r(6);
  if (reduce == "sum") {
    if (c.needs(0)) r[0] = include_self ? g : where(hit, zeros_self, g);
    if (c.needs(3)) r[3] = gather(g);
  } else if (reduce == "mean") {
    Tensor count = scatter_add(include_self ? full(g.sizes(), 1.0, g.dtype(), g.device()) : zeros_self, ones_src);
    count = where(hit, count, full({}, 1.0, g.dtype(), g.device()));
    Tensor gs = div(g, count);
    if (c.needs(0)) r[0] = include_self ? gs : where(hit, zeros_self, g);
    if (c.needs(3)) r[3] = gather(gs);
  } else if (reduce == "amax" || reduce == "amin") {
    Tensor self_hit = eq(self, out), src_hit = eq(src, gather(out));
    Tensor count = scatter_add(include_self ? to_dtype(self_hit, g.dtype()) : zeros_self, to_dtype(src_hit, g.dtype()));
    count = where(hit, count, full({}, 1.0, g.dtype(), g.device()));
    Tensor gs = div(g, count);
    if (c.needs(0))
      r[0] = include_self ? where(self_hit, gs, zeros_self) : where(hit, zeros_self, g);
    if (c.needs(3)) r[3] = where(src_hit, gather(gs), zeros_like(src));
  } else if (reduce == "prod") {
    if (any_true(eq(src, full({}, 0.0, src.dtype(), src.device()))) ||
        (include_self && any_true(eq(self, full({}, 0.0, self.dtype(), self.device())))))
      fail(VT_ERROR_NOT_IMPLEMENTED, "the derivative of scatter_reduce(reduce='prod') with zero "
           "inputs is not implemented");
    Tensor go = mul(g, out);
    if (c.needs(0)) r[0] = include_self ? div(go, self) : where(hit, zeros_self, g);
    if (c.needs(3)) r[3] = div(gather(go), src);
  } else {
    fail(VT_ERROR_NOT_IMPLEMENTED, "the derivative of scatter_reduce with reduce='", reduce, "'");
  }
  return r;
}

}  // namespace

void register_reduce_formulas() {
  add_formulas({
      {"vt::sum", 0, 0, 0, [](const Ctx& c) -> G {
         return {expand(unreduce(c.grad(), dims_arg(c, 1), c.b(2), c.dim(0)), c.sizes(0))}; }},
      {"vt::mean", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t n = numel_of(c.sizes(0)) / std::max<int64_t>(numel_of(c.output_sizes()), 1);
         Tensor g = unreduce(c.grad(), dims_arg(c, 1), c.b(2), c.dim(0));
         return {expand(div(g, full({}, double(n), g.dtype(), g.device())), c.sizes(0))}; }},
      {"vt::prod", args(0), 0, 0, [](const Ctx& c) -> G { return {prod_grad(c)}; }},
      {"vt::amax", args(0), 1, 0, [](const Ctx& c) -> G {
         return {evenly_distribute(c.grad(), c.tensor(0), c.output(), c.ints(1), c.b(2))}; }},
      {"vt::amin", args(0), 1, 0, [](const Ctx& c) -> G {
         return {evenly_distribute(c.grad(), c.tensor(0), c.output(), c.ints(1), c.b(2))}; }},
      {"vt::max", args(0), 1, 0, [](const Ctx& c) -> G {
         return {evenly_distribute(c.grad(), c.tensor(0), c.output(), {}, false)}; }},
      {"vt::min", args(0), 1, 0, [](const Ctx& c) -> G {
         return {evenly_distribute(c.grad(), c.tensor(0), c.output(), {}, false)}; }},
      {"vt::max.dim", 0, 2, 0, [](const Ctx& c) -> G {
         return {route_by_indices(c.grad(), c.output(1), c.i(1), c.b(2), c.sizes(0), c.grad().dtype(), c.device(0))}; }},
      {"vt::min.dim", 0, 2, 0, [](const Ctx& c) -> G {
         return {route_by_indices(c.grad(), c.output(1), c.i(1), c.b(2), c.sizes(0), c.grad().dtype(), c.device(0))}; }},
      {"vt::logsumexp", args(0), 1, 0, [](const Ctx& c) -> G {
         const int64_t nd = c.dim(0);
         Tensor o = unreduce(c.output(), c.ints(1), c.b(2), nd);
         return {mul(unreduce(c.grad(), c.ints(1), c.b(2), nd), exp(sub(c.tensor(0), o)))}; }},
      {"vt::var", args(0), 0, 0, [](const Ctx& c) -> G { return {var_grad(c, false)}; }},
      {"vt::std", args(0), 1, 0, [](const Ctx& c) -> G { return {var_grad(c, true)}; }},
      {"vt::norm", args(0), 1, 0, [](const Ctx& c) -> G { return {norm_grad(c)}; }},
      {"vt::var_mean", args(0), 0, 0, [](const Ctx& c) -> G { return {moments_grad(c, false)}; }},
      {"vt::std_mean", args(0), 1, 0, [](const Ctx& c) -> G { return {moments_grad(c, true)}; }},
      {"vt::cumprod", args(0), 1, 0, [](const Ctx& c) -> G { return {cumprod_grad(c)}; }},
      {"vt::scatter_reduce.two", args(0, 2, 3), 1, args(2), scatter_reduce_grad},
      {"vt::scatter.reduce", args(2), 0, args(2), [](const Ctx& c) -> G {
         if (c.str(4) != "add")
           fail(VT_ERROR_NOT_IMPLEMENTED, "the derivative of scatter with reduce='", c.str(4), "'");
         return {c.grad(), Tensor(), Tensor(), c.needs(3) ? call<"vt::gather">(c.grad(), c.i(1), c.tensor(2)) : Tensor()}; }},
      {"vt::cumsum", 0, 0, 0, [](const Ctx& c) -> G {
         const std::vector<int64_t> d{c.i(1)};
         return {call<"vt::flip">(call<"vt::cumsum">(call<"vt::flip">(c.grad(), d), c.i(1)), d)}; }},
  });
}

}  // namespace vt::autograd
