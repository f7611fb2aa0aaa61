// Fused optimizer updates: one call updates every parameter of a group in place, with the
// arithmetic of torch.optim's per-parameter (single-tensor) algorithms. Lists are index-aligned;
// each index's tensors share shape and dtype (float16, bfloat16, float32 or float64).
#pragma once

#include "core/dim_vector.h"
#include "core/tensor.h"
#include "dispatch/boxing.h"

namespace vt {

// Adam / AdamW. steps[i] is the step params[i] is taking (1 on its first update) and sets its
// bias corrections. max_exp_avg_sqs is used with amsgrad (one per param) and may be empty
// otherwise. Weight decay adds weight_decay * param to the gradient, or with
// decoupled_weight_decay scales the param by 1 - lr * weight_decay (AdamW).
void fused_adam_(TensorList params, TensorList grads, TensorList exp_avgs, TensorList exp_avg_sqs,
                 TensorList max_exp_avg_sqs, IntArrayRef steps, double lr, double beta1,
                 double beta2, double weight_decay, double eps, bool amsgrad, bool maximize,
                 bool decoupled_weight_decay = false);

// SGD with momentum, dampening, Nesterov, weight decay and maximize. momentum_buffers holds one
// buffer per param when momentum != 0 (empty otherwise); where first_step[i] != 0 the buffer is
// (re)initialized to the gradient, as torch's first step clones it.
void fused_sgd_(TensorList params, TensorList grads, TensorList momentum_buffers,
                IntArrayRef first_step, double lr, double momentum, double dampening,
                double weight_decay, bool nesterov, bool maximize);

}  // namespace vt
