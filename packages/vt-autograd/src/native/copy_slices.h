// In-place writes through a view: the base's history becomes a CopySlices node, which hands the
// view's region of the base's gradient to the in-place op's node and puts what comes back in
// that region; the view is then re-derived from the base (torch's design).
#pragma once

#include <memory>

#include "node.h"

namespace vt::autograd {

class CopySlices final : public Node {
 public:
  // base: the view's base (contiguous); the view's geometry is read from `view`; fn: the
  // in-place op's node, whose first input is the view's old value.
  CopySlices(const Tensor& base, const Tensor& view, std::shared_ptr<Node> fn);
  std::string name() const override { return "CopySlices"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  void release_variables() override { fn_->release_variables(); }

 private:
  std::vector<int64_t> sizes_, strides_;
  int64_t offset_ = 0;  // of the view, relative to the base's first element
  std::shared_ptr<Node> fn_;
};

}  // namespace vt::autograd
