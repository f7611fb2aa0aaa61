// Fused optimizer updates as vt.core._C functions: one call per parameter group, lists converted
// once at the boundary (vt.torch.optim's Adam, AdamW and SGD step through these).
#include "bindings/common.h"

#include "ops/optim.h"

namespace vt::py {
namespace {

using Tensors = std::vector<Tensor>;
using Ints = std::vector<int64_t>;

void fused_adam(const Tensors& params, const Tensors& grads, const Tensors& exp_avgs,
                const Tensors& exp_avg_sqs, const Tensors& max_exp_avg_sqs, const Ints& state_steps,
                double lr, double beta1, double beta2, double weight_decay, double eps,
                bool amsgrad, bool maximize, bool decoupled_weight_decay) {
  vt::fused_adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, lr, beta1,
                  beta2, weight_decay, eps, amsgrad, maximize, decoupled_weight_decay);
}

void fused_sgd(const Tensors& params, const Tensors& grads, const Tensors& momentum_buffers,
               const Ints& is_first_step, double lr, double momentum, double dampening,
               double weight_decay, bool nesterov, bool maximize) {
  vt::fused_sgd_(params, grads, momentum_buffers, is_first_step, lr, momentum, dampening,
                 weight_decay, nesterov, maximize);
}

}  // namespace

void bind_optim_ops(nb::module_& m) {
  m.def("_fused_adam_", &fused_adam, nb::arg("params"), nb::arg("grads"), nb::arg("exp_avgs"),
        nb::arg("exp_avg_sqs"), nb::arg("max_exp_avg_sqs"), nb::arg("state_steps"), nb::kw_only(),
        nb::arg("lr"), nb::arg("beta1"), nb::arg("beta2"), nb::arg("weight_decay"), nb::arg("eps"),
        nb::arg("amsgrad"), nb::arg("maximize"), nb::arg("decoupled_weight_decay") = false,
        "Adam/AdamW update of every param in place; state_steps[i] is the step params[i] is "
        "taking (1 on its first update).");
  m.def("_fused_sgd_", &fused_sgd, nb::arg("params"), nb::arg("grads"),
        nb::arg("momentum_buffers"), nb::arg("is_first_step"), nb::kw_only(), nb::arg("lr"),
        nb::arg("momentum"), nb::arg("dampening"), nb::arg("weight_decay"), nb::arg("nesterov"),
        nb::arg("maximize"),
        "SGD update of every param in place; a buffer whose is_first_step flag is set starts as "
        "the gradient.");
}

}  // namespace vt::py
