// The nn op family: registration of its files' ops, and the helpers they share.
#include "dispatch/dispatcher.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {
namespace nn {

Tensor param_as(const std::optional<Tensor>& p, ScalarType t) {
  if (!p || !p->defined()) return Tensor();
  Tensor v = p->dtype() == t ? *p : to_dtype(*p, t);
  return contiguous(v);
}

void raise_dtype_not_implemented(const char* op, ScalarType t) {
  fail(VT_ERROR_NOT_IMPLEMENTED, "\"", op, "\" not implemented for '", dtype_name(t), "'");
}

void check_reduction(int64_t reduction, const char* op) {
  VT_CHECK_VALUE(reduction >= 0 && reduction <= 2, op, "(): reduction ", reduction,
                 " is not a valid value (0: none, 1: mean, 2: sum)");
}

}  // namespace nn

void register_nn_ops() {
  nn::register_softmax_ops();
  nn::register_softmax_backward_ops();
  nn::register_loss_ops();
  nn::register_nll_ops();
  nn::register_cross_entropy_ops();
  nn::register_cross_entropy_backward_ops();
  nn::register_norm_ops();
  nn::register_norm_backward_ops();
  nn::register_embedding_ops();
  nn::register_dropout_ops();
  nn::register_attention_ops();
  nn::register_fused_attention_ops();
  nn::register_conv_ops();
  nn::register_pool_ops();
  nn::register_interpolate_ops();
}

}  // namespace vt
