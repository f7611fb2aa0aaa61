// Derivatives of the elementwise ops. Broadcasting and dtype are handled by the engine (each
// gradient is summed to its input's shape and cast to its dtype), so formulas stay pointwise.
#include <cmath>

#include "formula.h"
#include "grad_mode.h"
#include "ops.h"

namespace vt::autograd {
namespace {

using namespace ops;
using G = std::vector<Tensor>;

constexpr double kLn2 = 0.69314718055994530942;
constexpr double kPi = 3.14159265358979323846;

// g where `mask` holds, 0 elsewhere.
Tensor masked(const Tensor& g, const Tensor& mask) { return where(mask, g, 0.0); }

Tensor gelu_grad(const Tensor& g, const Tensor& x, bool tanh_approx) {
  if (!tanh_approx) {
    Tensor cdf = mul(add(erf(mul(x, 1.0 / std::sqrt(2.0))), 1.0), 0.5);
    Tensor pdf = mul(exp(mul(mul(x, x), -0.5)), 1.0 / std::sqrt(2.0 * kPi));
    return mul(g, add(cdf, mul(x, pdf)));
  }
  const double k = std::sqrt(2.0 / kPi), c = 0.044715;
  Tensor x2 = mul(x, x);
  Tensor t = tanh(mul(mul(x, add(mul(x2, c), 1.0)), k));
  Tensor left_d = mul(add(t, 1.0), 0.5);
  Tensor right_d = mul(mul(mul(x, 0.5), rsub(mul(t, t), 1.0)), mul(add(mul(x2, 3.0 * c), 1.0), k));
  return mul(g, add(left_d, right_d));
}

// d/dx pow(x, e) = e * x^(e-1), 0 where e == 0 (so 0^0 gives no inf * 0).
Tensor pow_self_grad(const Tensor& g, const Tensor& x, const Tensor& e) {
  Tensor r = mul(g, mul(e, pow(x, sub(e, ops::full({}, 1.0, e.dtype(), e.device())))));
  return where(eq(e, ops::full({}, 0.0, e.dtype(), e.device())), ops::zeros_like(r), r);
}

G zero_self(const Ctx& c) { return {zeros_like(c.grad())}; }

}  // namespace

void register_pointwise_formulas() {
  add_formulas({
      {"vt::add.Tensor", 0, 0, 0, [](const Ctx& c) -> G {
         return {c.grad(), c.needs(1) ? mul(c.grad(), c.d(2)) : Tensor()}; }},
      {"vt::add.Scalar", 0, 0, 0, [](const Ctx& c) -> G { return {c.grad()}; }},
      {"vt::sub.Tensor", 0, 0, 0, [](const Ctx& c) -> G {
         return {c.grad(), c.needs(1) ? mul(c.grad(), -c.d(2)) : Tensor()}; }},
      {"vt::sub.Scalar", 0, 0, 0, [](const Ctx& c) -> G { return {c.grad()}; }},
      {"vt::rsub.Scalar", 0, 0, 0, [](const Ctx& c) -> G { return {mul(c.grad(), -c.d(2))}; }},
      {"vt::mul.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         return {c.needs(0) ? mul(c.grad(), c.tensor(1)) : Tensor(),
                 c.needs(1) ? mul(c.grad(), c.tensor(0)) : Tensor()}; }},
      {"vt::mul.Scalar", 0, 0, 0, [](const Ctx& c) -> G { return {mul(c.grad(), c.d(1))}; }},
      {"vt::div.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor b = c.tensor(1);
         return {c.needs(0) ? div(c.grad(), b) : Tensor(),
                 c.needs(1) ? neg(div(mul(c.grad(), c.tensor(0)), mul(b, b))) : Tensor()}; }},
      {"vt::div.Scalar", 0, 0, 0, [](const Ctx& c) -> G { return {div(c.grad(), ops::full({}, c.d(1), c.grad().dtype(), c.grad().device()))}; }},
      {"vt::div.Tensor_mode", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         if (!c.is_none(2)) return {zeros_like(c.grad()), c.needs(1) ? zeros_like(c.grad()) : Tensor()};
         Tensor b = c.tensor(1);
         return {c.needs(0) ? div(c.grad(), b) : Tensor(),
                 c.needs(1) ? neg(div(mul(c.grad(), c.tensor(0)), mul(b, b))) : Tensor()}; }},
      {"vt::div.Scalar_mode", 0, 0, 0, [](const Ctx& c) -> G {
         if (!c.is_none(2)) return {zeros_like(c.grad())};
         return {div(c.grad(), ops::full({}, c.d(1), c.grad().dtype(), c.grad().device()))}; }},
      {"vt::rdiv.Scalar", args(0), 0, 0, [](const Ctx& c) -> G {  // other / self
         Tensor x = c.tensor(0);
         return {mul(div(c.grad(), mul(x, x)), -c.d(1))}; }},
      {"vt::neg", 0, 0, 0, [](const Ctx& c) -> G { return {neg(c.grad())}; }},
      {"vt::abs", args(0), 0, 0, [](const Ctx& c) -> G { return {mul(c.grad(), sign(c.tensor(0)))}; }},
      {"vt::sign", 0, 0, 0, [](const Ctx& c) -> G { return {zeros_like(c.grad())}; }},
      {"vt::exp", 0, 1, 0, [](const Ctx& c) -> G { return {mul(c.grad(), c.output())}; }},
      {"vt::exp2", 0, 1, 0, [](const Ctx& c) -> G { return {mul(mul(c.grad(), c.output()), kLn2)}; }},
      {"vt::expm1", 0, 1, 0, [](const Ctx& c) -> G { return {mul(c.grad(), add(c.output(), 1.0))}; }},
      {"vt::log", args(0), 0, 0, [](const Ctx& c) -> G { return {div(c.grad(), c.tensor(0))}; }},
      {"vt::log2", args(0), 0, 0, [](const Ctx& c) -> G {
         return {div(c.grad(), mul(c.tensor(0), kLn2))}; }},
      {"vt::log1p", args(0), 0, 0, [](const Ctx& c) -> G {
         return {div(c.grad(), add(c.tensor(0), 1.0))}; }},
      {"vt::sqrt", 0, 1, 0, [](const Ctx& c) -> G { return {div(c.grad(), mul(c.output(), 2.0))}; }},
      {"vt::rsqrt", 0, 1, 0, [](const Ctx& c) -> G {
         Tensor y = c.output();
         return {mul(mul(c.grad(), mul(mul(y, y), y)), -0.5)}; }},
      {"vt::reciprocal", 0, 1, 0, [](const Ctx& c) -> G {
         Tensor y = c.output();
         return {neg(mul(c.grad(), mul(y, y)))}; }},
      {"vt::sin", args(0), 0, 0, [](const Ctx& c) -> G { return {mul(c.grad(), cos(c.tensor(0)))}; }},
      {"vt::cos", args(0), 0, 0, [](const Ctx& c) -> G { return {neg(mul(c.grad(), sin(c.tensor(0))))}; }},
      {"vt::tan", 0, 1, 0, [](const Ctx& c) -> G {
         Tensor y = c.output();
         return {mul(c.grad(), add(mul(y, y), 1.0))}; }},
      {"vt::tanh", 0, 1, 0, [](const Ctx& c) -> G {
         Tensor y = c.output();
         return {mul(c.grad(), rsub(mul(y, y), 1.0))}; }},
      {"vt::sigmoid", 0, 1, 0, [](const Ctx& c) -> G {
         Tensor y = c.output();
         return {mul(c.grad(), mul(y, rsub(y, 1.0)))}; }},
      // torch's threshold_backward: only results <= 0 block the gradient (a NaN passes it).
      {"vt::relu", 0, 1, 0, [](const Ctx& c) -> G {
         Tensor g = c.grad();
         return {where(call<"vt::le.Scalar">(c.output(), 0.0), zeros_like(g), g)}; }},
      {"vt::erf", args(0), 0, 0, [](const Ctx& c) -> G {
         Tensor x = c.tensor(0);
         return {mul(mul(c.grad(), exp(neg(mul(x, x)))), 2.0 / std::sqrt(kPi))}; }},
      // Fused one-pass derivatives unless the backward itself is recorded (create_graph).
      {"vt::silu", args(0), 0, 0, [](const Ctx& c) -> G {
         if (!grad_enabled()) return {call<"vt::_silu_backward">(c.grad(), c.tensor(0))};
         Tensor x = c.tensor(0), s = sigmoid(x);
         return {mul(c.grad(), mul(s, add(mul(x, rsub(s, 1.0)), 1.0)))}; }},
      {"vt::gelu", args(0), 0, 0, [](const Ctx& c) -> G {
         if (!grad_enabled()) return {call<"vt::_gelu_backward">(c.grad(), c.tensor(0), c.str(1).c_str())};
         return {gelu_grad(c.grad(), c.tensor(0), c.str(1) == "tanh")}; }},
      {"vt::floor", 0, 0, 0, [](const Ctx& c) -> G { return {zeros_like(c.grad())}; }},
      {"vt::ceil", 0, 0, 0, [](const Ctx& c) -> G { return {zeros_like(c.grad())}; }},
      {"vt::trunc", 0, 0, 0, [](const Ctx& c) -> G { return {zeros_like(c.grad())}; }},
      {"vt::round", 0, 0, 0, [](const Ctx& c) -> G { return {zeros_like(c.grad())}; }},
      {"vt::nan_to_num", args(0), 0, 0, [](const Ctx& c) -> G {
         return {masked(c.grad(), call<"vt::isfinite">(c.tensor(0)))}; }},
      {"vt::clamp", args(0), 0, 0, [](const Ctx& c) -> G {
         Tensor x = c.tensor(0), keep;
         if (!c.is_none(1)) keep = ge(x, c.d(1));
         if (!c.is_none(2)) {
           Tensor hi = call<"vt::le.Scalar">(x, c.d(2));
           keep = keep.defined() ? logical_and(keep, hi) : hi;
         }
         return {keep.defined() ? masked(c.grad(), keep) : c.grad()}; }},
      // torch's clamp_backward_min_max: with min > max the result is max, so max takes the
      // gradient there.
      {"vt::clamp.Tensor", args(0, 1, 2), 0, 0, [](const Ctx& c) -> G {
         Tensor x = c.tensor(0), lo = c.tensor(1), hi = c.tensor(2), g = c.grad(), keep;
         G r(3);
         if (lo.defined()) keep = ge(x, lo);
         if (hi.defined()) keep = keep.defined() ? logical_and(keep, le(x, hi)) : le(x, hi);
         r[0] = keep.defined() ? masked(g, keep) : g;
         if (lo.defined() && c.needs(1))
           r[1] = masked(g, hi.defined() ? logical_and(lt(x, lo), lt(lo, hi)) : lt(x, lo));
         if (hi.defined() && c.needs(2))
           r[2] = masked(g, lo.defined() ? call<"vt::logical_or.Tensor">(gt(x, hi), lt(hi, lo)) : gt(x, hi));
         return r; }},
      {"vt::clamp_min.Scalar", args(0), 0, 0, [](const Ctx& c) -> G {
         return {masked(c.grad(), ge(c.tensor(0), c.d(1)))}; }},
      {"vt::clamp_max.Scalar", args(0), 0, 0, [](const Ctx& c) -> G {
         return {masked(c.grad(), call<"vt::le.Scalar">(c.tensor(0), c.d(1)))}; }},
      {"vt::clamp_min.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor x = c.tensor(0), o = c.tensor(1);
         return {masked(c.grad(), ge(x, o)), c.needs(1) ? masked(c.grad(), lt(x, o)) : Tensor()}; }},
      {"vt::clamp_max.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor x = c.tensor(0), o = c.tensor(1);
         return {masked(c.grad(), le(x, o)), c.needs(1) ? masked(c.grad(), gt(x, o)) : Tensor()}; }},
      {"vt::pow.Scalar", args(0), 0, 0, [](const Ctx& c) -> G {
         const double e = c.d(1);
         if (e == 0.0) return {zeros_like(c.grad())};
         return {mul(mul(c.grad(), pow(c.tensor(0), e - 1.0)), e)}; }},
      {"vt::pow.Tensor", args(0, 1), 1, 0, [](const Ctx& c) -> G {
         Tensor x = c.tensor(0), e = c.tensor(1);
         G r(2);
         if (c.needs(0)) r[0] = pow_self_grad(c.grad(), x, e);
         if (c.needs(1)) {
           Tensor gl = mul(mul(c.grad(), c.output()), log(x));
           // 0^e for e >= 0 has no slope in e (log(0) would give nan)
           Tensor zero = logical_and(eq(x, ops::full({}, 0.0, x.dtype(), x.device())),
                                     ge(e, ops::full({}, 0.0, e.dtype(), e.device())));
           r[1] = where(zero, zeros_like(gl), gl);
         }
         return r; }},
      {"vt::pow.Scalar_Tensor", 0, 1, 0, [](const Ctx& c) -> G {
         const double base = c.d(0);
         Tensor gl = mul(mul(c.grad(), c.output()), std::log(base));
         return {Tensor(), base == 0.0 ? zeros_like(gl) : gl}; }},
      {"vt::atan2.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor y = c.tensor(0), x = c.tensor(1);
         Tensor denom = add(mul(y, y), mul(x, x));
         return {c.needs(0) ? div(mul(c.grad(), x), denom) : Tensor(),
                 c.needs(1) ? neg(div(mul(c.grad(), y), denom)) : Tensor()}; }},
      // As torch: ties share the gradient, and only a strict loss blocks it (NaN passes).
      {"vt::maximum.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor a = c.tensor(0), b = c.tensor(1), g = c.grad();
         Tensor half = mul(g, 0.5), tie = eq(a, b), z = zeros_like(g);
         return {c.needs(0) ? where(tie, half, where(lt(a, b), z, g)) : Tensor(),
                 c.needs(1) ? where(tie, half, where(gt(a, b), z, g)) : Tensor()}; }},
      {"vt::minimum.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor a = c.tensor(0), b = c.tensor(1), g = c.grad();
         Tensor half = mul(g, 0.5), tie = eq(a, b), z = zeros_like(g);
         return {c.needs(0) ? where(tie, half, where(gt(a, b), z, g)) : Tensor(),
                 c.needs(1) ? where(tie, half, where(lt(a, b), z, g)) : Tensor()}; }},
      {"vt::where.self", args(0), 0, args(0), [](const Ctx& c) -> G {
         Tensor cond = c.tensor(0), g = c.grad();
         return {Tensor(), c.needs(1) ? masked(g, cond) : Tensor(),
                 c.needs(2) ? where(cond, zeros_like(g), g) : Tensor()}; }},
      {"vt::where.ScalarOther", args(0), 0, args(0), [](const Ctx& c) -> G {
         return {Tensor(), masked(c.grad(), c.tensor(0))}; }},
      {"vt::where.ScalarSelf", args(0), 0, args(0), [](const Ctx& c) -> G {
         Tensor g = c.grad();
         return {Tensor(), Tensor(), where(c.tensor(0), zeros_like(g), g)}; }},
      {"vt::lerp.Scalar", 0, 0, 0, [](const Ctx& c) -> G {
         const double w = c.d(2);
         return {mul(c.grad(), 1.0 - w), mul(c.grad(), w)}; }},
      {"vt::lerp.Tensor", args(0, 1, 2), 0, 0, [](const Ctx& c) -> G {
         Tensor w = c.tensor(2), g = c.grad();
         return {c.needs(0) ? mul(g, rsub(w, 1.0)) : Tensor(), c.needs(1) ? mul(g, w) : Tensor(),
                 c.needs(2) ? mul(g, sub(c.tensor(1), c.tensor(0))) : Tensor()}; }},
      {"vt::addcmul", args(1, 2), 0, 0, [](const Ctx& c) -> G {
         const double v = c.d(3);
         return {c.grad(), c.needs(1) ? mul(mul(c.grad(), c.tensor(2)), v) : Tensor(),
                 c.needs(2) ? mul(mul(c.grad(), c.tensor(1)), v) : Tensor()}; }},
      {"vt::addcdiv", args(1, 2), 0, 0, [](const Ctx& c) -> G {
         const double v = c.d(3);
         Tensor t2 = c.tensor(2);
         return {c.grad(), c.needs(1) ? mul(div(c.grad(), t2), v) : Tensor(),
                 c.needs(2) ? mul(div(mul(c.grad(), c.tensor(1)), mul(t2, t2)), -v) : Tensor()}; }},
      {"vt::masked_fill.Scalar", args(1), 0, args(1), [](const Ctx& c) -> G {
         return {masked_fill(c.grad(), c.tensor(1), 0.0)}; }},
      {"vt::masked_fill.Tensor", args(1), 0, args(1), [](const Ctx& c) -> G {
         Tensor mask = c.tensor(1), g = c.grad();
         return {masked_fill(g, mask, 0.0), Tensor(),
                 c.needs(2) ? sum_all(masked(g, mask)) : Tensor()}; }},
      {"vt::remainder.Scalar", 0, 0, 0, [](const Ctx& c) -> G { return {c.grad()}; }},
      {"vt::fmod.Scalar", 0, 0, 0, [](const Ctx& c) -> G { return {c.grad()}; }},
      {"vt::remainder.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         return {c.grad(), c.needs(1) ? neg(mul(c.grad(), call<"vt::div.Tensor_mode">(c.tensor(0), c.tensor(1), "floor"))) : Tensor()}; }},
      {"vt::fmod.Tensor", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         return {c.grad(), c.needs(1) ? neg(mul(c.grad(), call<"vt::div.Tensor_mode">(c.tensor(0), c.tensor(1), "trunc"))) : Tensor()}; }},
      // Comparisons written in place into a floating tensor, and in-place random fills: the
      // result does not depend on the old values smoothly, so their gradient is zero.
      {"vt::eq.Scalar", 0, 0, 0, zero_self}, {"vt::eq.Tensor", 0, 0, 0, zero_self},
      {"vt::ne.Scalar", 0, 0, 0, zero_self}, {"vt::ne.Tensor", 0, 0, 0, zero_self},
      {"vt::lt.Scalar", 0, 0, 0, zero_self}, {"vt::lt.Tensor", 0, 0, 0, zero_self},
      {"vt::le.Scalar", 0, 0, 0, zero_self}, {"vt::le.Tensor", 0, 0, 0, zero_self},
      {"vt::gt.Scalar", 0, 0, 0, zero_self}, {"vt::gt.Tensor", 0, 0, 0, zero_self},
      {"vt::ge.Scalar", 0, 0, 0, zero_self}, {"vt::ge.Tensor", 0, 0, 0, zero_self},
      {"vt::normal_", 0, 0, 0, zero_self}, {"vt::uniform_", 0, 0, 0, zero_self},
      {"vt::exponential_", 0, 0, 0, zero_self}, {"vt::random_", 0, 0, 0, zero_self},
      {"vt::bernoulli_.float", 0, 0, 0, zero_self}, {"vt::bernoulli_.Tensor", 0, 0, 0, zero_self},
      {"vt::_to_copy", 0, 0, 0, [](const Ctx& c) -> G { return {c.grad()}; }},
      {"vt::clone", 0, 0, 0, [](const Ctx& c) -> G { return {c.grad()}; }},
  });
}

}  // namespace vt::autograd
