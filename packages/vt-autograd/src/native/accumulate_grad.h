// The node at the end of every path to a leaf: adds the incoming gradient into leaf.grad.
#pragma once

#include "node.h"

namespace vt::autograd {

class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(Tensor leaf);
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  bool is_accumulate_grad() const override { return true; }
  const Tensor& leaf() const { return leaf_; }

 private:
  Tensor leaf_;  // strong: the leaf's state points back here only weakly
};

}  // namespace vt::autograd
