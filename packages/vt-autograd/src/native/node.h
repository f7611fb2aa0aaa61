// The backward graph: a Node computes the gradients of its forward inputs from the gradients
// of its forward outputs; Edges point from a node to the nodes of those inputs.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common.h"

namespace vt::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> fn;  // null: the input needs no gradient
  uint32_t input_nr = 0;     // which of fn's gradient inputs this edge feeds
  bool valid() const { return fn != nullptr; }
};

// A hook on the gradient of one forward output before the node runs: may replace it.
using GradHook = std::function<Tensor(const Tensor&)>;

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual std::string name() const = 0;
  // grads: one per forward output (undefined where no gradient flowed). Returns one gradient
  // per next edge (undefined for none).
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grads) = 0;
  // Frees saved tensors after a backward without retain_graph.
  virtual void release_variables() {}
  virtual bool is_accumulate_grad() const { return false; }

  std::vector<Edge> next_edges;
  // Forward inputs (one per next edge): gradients are reduced to these shapes and dtypes.
  std::vector<TensorMeta> input_meta;
  // Forward outputs (one per gradient received): undefined gradients become zeros of these.
  std::vector<TensorMeta> output_meta;
  // Creation order: later nodes run first, which keeps a backward close to reverse forward order.
  const uint64_t sequence_nr;
  // Hooks on the gradients of forward outputs (register_hook, retain_grad of non-leaves).
  std::vector<std::pair<uint32_t, GradHook>> pre_hooks;
  std::mutex mutex;  // apply and release on one node from several backward calls
  bool released = false;

 protected:
  [[noreturn]] void raise_released() const;
};

}  // namespace vt::autograd
