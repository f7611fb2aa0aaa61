#include "accumulate_grad.h"

#include "grad_mode.h"
#include "meta.h"
#include "ops.h"

namespace vt::autograd {

AccumulateGrad::AccumulateGrad(Tensor leaf) : leaf_(std::move(leaf)) {
  input_meta.push_back(TensorMeta::of(leaf_.get()));
  output_meta.push_back(input_meta.back());
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  Tensor g = std::move(grads.at(0));
  if (!g.defined()) return {};
  AutogradMeta& m = ensure_meta(leaf_.get());
  // Hooks run without the lock: they are user code and may read or set this leaf's .grad.
  std::vector<GradHook> hooks;
  std::vector<PostAccumulateHook> post;
  {
    std::lock_guard lock(m.mutex);
    hooks = m.leaf_hooks;
    post = m.post_accumulate_hooks;
  }
  for (const GradHook& hook : hooks) {
    Tensor r = hook(g);
    if (r.defined()) g = std::move(r);
  }
  {
    std::lock_guard lock(m.mutex);
    if (!m.grad.defined()) {
      // A fresh tensor: the incoming gradient may be shared with other leaves or be a
      // broadcast view, and .grad is later updated in place.
      m.grad = grad_enabled() ? g : ops::call<"vt::clone">(g);
    } else if (grad_enabled()) {
      m.grad = ops::add(m.grad, g);  // create_graph: out of place, so the sum is differentiable
    } else {
      ops::call<"vt::add_.Tensor">(m.grad, g);
    }
  }
  for (const PostAccumulateHook& hook : post) hook(leaf_);
  return {};
}

}  // namespace vt::autograd
