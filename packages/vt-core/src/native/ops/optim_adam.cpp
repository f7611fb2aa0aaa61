// _fused_adam_: Adam / AdamW over a whole parameter group in one pass per element. The update is
// torch's single-tensor algorithm with each of its ops' rounding: lerp_ and add(alpha) as fused
// multiply-adds, addcmul_ as value * t1 fused with + self, addcdiv_ as self + value * t1 / t2.
// float16/bfloat16 compute in float and round once on store.
#include <cmath>

#include "core/half.h"
#include "ops/optim.h"
#include "ops/optim_internal.h"

namespace vt {
namespace optim {
namespace {

struct AdamOptions {
  double lr, beta1, beta2, weight_decay, eps;
  bool amsgrad, maximize, decoupled;
};

// One parameter's flat arrays and step-dependent factors.
struct AdamRow {
  char* param;
  const char* grad;
  char* exp_avg;
  char* exp_avg_sq;
  char* max_exp_avg_sq;  // null without amsgrad
  ScalarType dtype;
  double step_size;   // lr / (1 - beta1^step)
  double bias2_sqrt;  // sqrt(1 - beta2^step)
};

// The options as values of V (compute type C, or its vector), rounded to C as torch rounds a
// Python scalar argument.
template <typename V, typename C>
struct AdamConstants {
  V lerp_weight, lerp_weight_minus_1, beta2, one_minus_beta2, weight_decay, decay, bias2_sqrt, eps,
      neg_step_size;
  bool small_weight, maximize, coupled_decay, decoupled_decay;

  AdamConstants(const AdamOptions& o, const AdamRow& r) {
    const C w = C(1 - o.beta1);
    lerp_weight = splat_as<V>(w);
    lerp_weight_minus_1 = splat_as<V>(C(w - C(1)));
    beta2 = splat_as<V>(C(o.beta2));
    one_minus_beta2 = splat_as<V>(C(1 - o.beta2));
    weight_decay = splat_as<V>(C(o.weight_decay));
    decay = splat_as<V>(C(1 - o.lr * o.weight_decay));
    bias2_sqrt = splat_as<V>(C(r.bias2_sqrt));
    eps = splat_as<V>(C(o.eps));
    neg_step_size = splat_as<V>(C(-r.step_size));
    small_weight = std::abs(w) < C(0.5);
    maximize = o.maximize;
    coupled_decay = o.weight_decay != 0 && !o.decoupled;
    decoupled_decay = o.weight_decay != 0 && o.decoupled;
  }
};

// One element (or vector of elements) of the update, in torch's op order.
template <typename V, typename C>
inline void adam_update(V& p, V g, V& m, V& v, V* vmax, const AdamConstants<V, C>& k) {
  if (k.maximize) g = -g;
  if (k.coupled_decay) g = fmadd(k.weight_decay, p, g);  // grad.add(param, alpha=wd)
  if (k.decoupled_decay) p = p * k.decay;                // param.mul_(1 - lr * wd)
  // exp_avg.lerp_(grad, 1 - beta1), torch's two-sided form
  m = k.small_weight ? fmadd(k.lerp_weight, g - m, m) : fmadd(k.lerp_weight_minus_1, g - m, g);
  v = fmadd(k.one_minus_beta2 * g, g, v * k.beta2);      // mul_(beta2).addcmul_(g, g, 1 - beta2)
  V s = v;
  if (vmax) s = *vmax = max_nan(*vmax, v);               // amsgrad
  const V denom = sqrt_of(s) / k.bias2_sqrt + k.eps;
  p = p + k.neg_step_size * m / denom;                   // addcdiv_(m, denom, -step_size)
}

template <typename T>
void adam_span(const AdamOptions& o, const AdamRow& r, int64_t begin, int64_t end) {
  using C = opmath_t<T>;
  using V = vec<C>;
  constexpr int64_t W = kWidth<C>;
  T* p = reinterpret_cast<T*>(r.param);
  const T* g = reinterpret_cast<const T*>(r.grad);
  T* m = reinterpret_cast<T*>(r.exp_avg);
  T* v = reinterpret_cast<T*>(r.exp_avg_sq);
  T* x = reinterpret_cast<T*>(r.max_exp_avg_sq);
  const AdamConstants<V, C> kv(o, r);
  int64_t i = begin;
  for (; i + W <= end; i += W) {
    V pv = load_vec<C>(p + i), mv = load_vec<C>(m + i), vv = load_vec<C>(v + i), xv{};
    if (x) xv = load_vec<C>(x + i);
    adam_update(pv, load_vec<C>(g + i), mv, vv, x ? &xv : nullptr, kv);
    store_vec<C>(p + i, pv), store_vec<C>(m + i, mv), store_vec<C>(v + i, vv);
    if (x) store_vec<C>(x + i, xv);
  }
  if (i == end) return;
  const AdamConstants<C, C> k(o, r);
  for (; i < end; ++i) {
    C pi = C(p[i]), mi = C(m[i]), vi = C(v[i]), xi = x ? C(x[i]) : C(0);
    adam_update(pi, C(g[i]), mi, vi, x ? &xi : nullptr, k);
    p[i] = T(pi), m[i] = T(mi), v[i] = T(vi);
    if (x) x[i] = T(xi);
  }
}

void adam_kernel(TensorList params, TensorList grads, TensorList exp_avgs, TensorList exp_avg_sqs,
                 TensorList max_exp_avg_sqs, IntArrayRef steps, double lr, double beta1,
                 double beta2, double weight_decay, double eps, bool amsgrad, bool maximize,
                 bool decoupled_weight_decay) {
  constexpr const char* op = "_fused_adam_";
  const size_t n = params.size();
  check_group(op, params, {{"grads", grads}, {"exp_avgs", exp_avgs}, {"exp_avg_sqs", exp_avg_sqs}});
  if (amsgrad) check_group(op, params, {{"max_exp_avg_sqs", max_exp_avg_sqs}});
  VT_CHECK(steps.size() == n, op, ": expected state_steps to hold one step per param (", n,
           "), got ", steps.size());
  for (size_t i = 0; i < n; ++i)
    VT_CHECK(steps[i] >= 1, op, ": state_steps[", i, "] is ", steps[i],
             "; the step being taken counts from 1");
  const AdamOptions o{lr, beta1, beta2, weight_decay, eps, amsgrad, maximize,
                      decoupled_weight_decay};

  std::vector<AdamRow> rows;
  std::vector<int64_t> numels;
  StagedCopies copies;
  rows.reserve(n), numels.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (params[i].numel() == 0) continue;
    Tensor row[] = {params[i], grads[i], exp_avgs[i], exp_avg_sqs[i],
                    amsgrad ? max_exp_avg_sqs[i] : params[i]};
    stage_row(std::span(row, amsgrad ? 5 : 4), 1, copies);
    const double step = double(steps[i]);
    rows.push_back({row[0].data(), row[1].data(), row[2].data(), row[3].data(),
                    amsgrad ? row[4].data() : nullptr, params[i].dtype(),
                    lr / (1 - std::pow(beta1, step)), std::pow(1 - std::pow(beta2, step), 0.5)});
    numels.push_back(params[i].numel());
  }
  for_each_span(numels, [&](size_t r, int64_t begin, int64_t end) {
    switch (rows[r].dtype) {
      case ScalarType::Float32: return adam_span<float>(o, rows[r], begin, end);
      case ScalarType::Float64: return adam_span<double>(o, rows[r], begin, end);
      case ScalarType::Float16: return adam_span<Half>(o, rows[r], begin, end);
      case ScalarType::BFloat16: return adam_span<BFloat16>(o, rows[r], begin, end);
      default: VT_INTERNAL_ASSERT(false);
    }
  });
  finish_rows(copies, {params, exp_avgs, exp_avg_sqs, amsgrad ? max_exp_avg_sqs : TensorList()});
}

}  // namespace

void register_adam_ops() {
  define_cpu_kernel_no_result(
      "vt::_fused_adam_(Tensor[] params, Tensor[] grads, Tensor[] exp_avgs, Tensor[] exp_avg_sqs, "
      "Tensor[] max_exp_avg_sqs, int[] state_steps, *, float lr, float beta1, float beta2, "
      "float weight_decay, float eps, bool amsgrad, bool maximize, "
      "bool decoupled_weight_decay=False) -> ()",
      &adam_kernel);
}

}  // namespace optim

void fused_adam_(TensorList params, TensorList grads, TensorList exp_avgs, TensorList exp_avg_sqs,
                 TensorList max_exp_avg_sqs, IntArrayRef steps, double lr, double beta1,
                 double beta2, double weight_decay, double eps, bool amsgrad, bool maximize,
                 bool decoupled_weight_decay) {
  static const Op& op = get_op("vt::_fused_adam_");
  optim::call_no_result(op, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1,
                        beta2, weight_decay, eps, amsgrad, maximize, decoupled_weight_decay);
}

}  // namespace vt
