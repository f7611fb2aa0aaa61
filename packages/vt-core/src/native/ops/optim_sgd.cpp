// _fused_sgd_: SGD (momentum, dampening, Nesterov, weight decay, maximize) over a whole parameter
// group in one pass per element, with the rounding of torch's single-tensor algorithm: each
// add(alpha) a fused multiply-add. float16/bfloat16 compute in float and round once on store.
#include "core/half.h"
#include "ops/optim.h"
#include "ops/optim_internal.h"

namespace vt {
namespace optim {
namespace {

struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};

struct SgdRow {
  char* param;
  const char* grad;
  char* momentum_buffer;  // null without momentum
  bool first_step;        // the buffer starts as the gradient
  ScalarType dtype;
};

template <typename V, typename C>
struct SgdConstants {
  V weight_decay, momentum, one_minus_dampening, neg_lr;
  bool maximize, decay, nesterov;

  explicit SgdConstants(const SgdOptions& o)
      : weight_decay(splat_as<V>(C(o.weight_decay))),
        momentum(splat_as<V>(C(o.momentum))),
        one_minus_dampening(splat_as<V>(C(1 - o.dampening))),
        neg_lr(splat_as<V>(C(-o.lr))),
        maximize(o.maximize),
        decay(o.weight_decay != 0),
        nesterov(o.nesterov) {}
};

template <typename V, typename C>
inline void sgd_update(V& p, V g, V* buf, bool first_step, const SgdConstants<V, C>& k) {
  if (k.maximize) g = -g;
  if (k.decay) g = fmadd(k.weight_decay, p, g);                  // grad.add(param, alpha=wd)
  if (buf) {
    // buf.mul_(momentum).add_(grad, alpha=1 - dampening), or a clone of grad on the first step
    *buf = first_step ? g : fmadd(k.one_minus_dampening, g, *buf * k.momentum);
    g = k.nesterov ? fmadd(k.momentum, *buf, g) : *buf;         // grad.add(buf, alpha=momentum)
  }
  p = fmadd(k.neg_lr, g, p);                                     // param.add_(grad, alpha=-lr)
}

template <typename T>
void sgd_span(const SgdOptions& o, const SgdRow& r, int64_t begin, int64_t end) {
  using C = opmath_t<T>;
  using V = vec<C>;
  constexpr int64_t W = kWidth<C>;
  T* p = reinterpret_cast<T*>(r.param);
  const T* g = reinterpret_cast<const T*>(r.grad);
  T* b = reinterpret_cast<T*>(r.momentum_buffer);
  const SgdConstants<V, C> kv(o);
  int64_t i = begin;
  for (; i + W <= end; i += W) {
    V pv = load_vec<C>(p + i), bv{};
    if (b && !r.first_step) bv = load_vec<C>(b + i);
    sgd_update(pv, load_vec<C>(g + i), b ? &bv : nullptr, r.first_step, kv);
    store_vec<C>(p + i, pv);
    if (b) store_vec<C>(b + i, bv);
  }
  if (i == end) return;
  const SgdConstants<C, C> k(o);
  for (; i < end; ++i) {
    C pi = C(p[i]), bi = b && !r.first_step ? C(b[i]) : C(0);
    sgd_update(pi, C(g[i]), b ? &bi : nullptr, r.first_step, k);
    p[i] = T(pi);
    if (b) b[i] = T(bi);
  }
}

void sgd_kernel(TensorList params, TensorList grads, TensorList momentum_buffers,
                IntArrayRef first_step, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov, bool maximize) {
  constexpr const char* op = "_fused_sgd_";
  const size_t n = params.size();
  check_group(op, params, {{"grads", grads}});
  const bool with_momentum = momentum != 0;
  if (with_momentum) {
    check_group(op, params, {{"momentum_buffers", momentum_buffers}});
    VT_CHECK(first_step.size() == n, op, ": expected is_first_step to hold one flag per param (", n,
             "), got ", first_step.size());
  }
  const SgdOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize};

  std::vector<SgdRow> rows;
  std::vector<int64_t> numels;
  StagedCopies copies;
  rows.reserve(n), numels.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (params[i].numel() == 0) continue;
    Tensor row[] = {params[i], grads[i], with_momentum ? momentum_buffers[i] : params[i]};
    stage_row(std::span(row, with_momentum ? 3 : 2), 1, copies);
    rows.push_back({row[0].data(), row[1].data(), with_momentum ? row[2].data() : nullptr,
                    with_momentum && first_step[i] != 0, params[i].dtype()});
    numels.push_back(params[i].numel());
  }
  for_each_span(numels, [&](size_t r, int64_t begin, int64_t end) {
    switch (rows[r].dtype) {
      case ScalarType::Float32: return sgd_span<float>(o, rows[r], begin, end);
      case ScalarType::Float64: return sgd_span<double>(o, rows[r], begin, end);
      case ScalarType::Float16: return sgd_span<Half>(o, rows[r], begin, end);
      case ScalarType::BFloat16: return sgd_span<BFloat16>(o, rows[r], begin, end);
      default: VT_INTERNAL_ASSERT(false);
    }
  });
  finish_rows(copies, {params, with_momentum ? momentum_buffers : TensorList()});
}

}  // namespace

void register_sgd_ops() {
  define_cpu_kernel_no_result(
      "vt::_fused_sgd_(Tensor[] params, Tensor[] grads, Tensor[] momentum_buffers, "
      "int[] is_first_step, *, float lr, float momentum, float dampening, float weight_decay, "
      "bool nesterov, bool maximize) -> ()",
      &sgd_kernel);
}

}  // namespace optim

void fused_sgd_(TensorList params, TensorList grads, TensorList momentum_buffers,
                IntArrayRef first_step, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov, bool maximize) {
  static const Op& op = get_op("vt::_fused_sgd_");
  optim::call_no_result(op, params, grads, momentum_buffers, first_step, lr, momentum, dampening,
                        weight_decay, nesterov, maximize);
}

}  // namespace vt
