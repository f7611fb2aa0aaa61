// Per-tensor autograd state, kept in the slot vt-core reserves on every tensor, and the
// dispatcher bit that routes a tensor's ops through the autograd layer.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "node.h"

namespace vt::autograd {

// Runs after a leaf's .grad was updated (register_post_accumulate_grad_hook).
using PostAccumulateHook = std::function<void(const Tensor&)>;

// The .grad of a non-leaf that called retain_grad(), shared with the hook that fills it (the
// hook lives in the graph and may outlive the tensor).
struct RetainedGrad {
  std::mutex mutex;
  Tensor grad;
};

struct AutogradMeta {
  std::mutex mutex;  // grad and hooks of a leaf shared by concurrent backward calls
  bool requires_grad = false;  // set on leaves; non-leaves require grad through grad_fn
  Tensor grad;
  std::shared_ptr<Node> grad_fn;             // non-leaves
  std::weak_ptr<Node> grad_accumulator;      // leaves: their AccumulateGrad, while a graph uses it
  uint32_t output_nr = 0;
  std::shared_ptr<RetainedGrad> retained;  // set by retain_grad() on a non-leaf
  std::vector<GradHook> leaf_hooks;  // register_hook on a leaf: run before accumulation
  std::vector<PostAccumulateHook> post_accumulate_hooks;
  // Views produced by view ops: in-place writes through them must update the base's history.
  bool is_view = false;
  Tensor view_base;
};

constexpr uint32_t kAutogradBit = 1u << VT_LAYER_AUTOGRAD;

// The tensor's state, or null when it never had any.
AutogradMeta* meta_of(vt_tensor_t t);
// The tensor's state, created on first use.
AutogradMeta& ensure_meta(vt_tensor_t t);

// Whether gradients flow to or through this tensor.
inline bool requires_grad(vt_tensor_t t) {
  AutogradMeta* m = t ? meta_of(t) : nullptr;
  return m && (m->requires_grad || m->grad_fn);
}
inline bool is_leaf(vt_tensor_t t) {
  AutogradMeta* m = meta_of(t);
  return !m || !m->grad_fn;
}

// Sets or clears the dispatcher bit that sends this tensor's ops to the autograd layer.
void set_autograd_bit(vt_tensor_t t, bool on);

// Makes `t` an output of `fn` (its grad_fn and output number) and marks it for the layer.
void set_history(vt_tensor_t t, const std::shared_ptr<Node>& fn, uint32_t output_nr);

// The edge a gradient for `t` flows along: its grad_fn, or its leaf accumulator (created on
// first use) when it is a leaf that requires grad; an invalid edge otherwise.
Edge gradient_edge(const Tensor& t);

// A new tensor over the same memory, with no autograd state (detach()).
Tensor alias_without_history(const Tensor& t);

}  // namespace vt::autograd
