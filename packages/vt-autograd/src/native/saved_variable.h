// A tensor a node keeps for its backward, with the version it had when saved: an in-place
// change before the backward is reported instead of giving wrong gradients.
#pragma once

#include <memory>

#include "node.h"

namespace vt::autograd {

class SavedVariable {
 public:
  SavedVariable() = default;
  // An output of the saving node is kept as an alias without history (keeping the tensor
  // itself would make a cycle through its grad_fn); unpack gives the history back.
  SavedVariable(const Tensor& t, bool is_output, uint32_t output_nr = 0);

  bool defined() const { return data_.defined(); }
  // The saved tensor; `owner` is the node that saved it (for outputs). Raises if it was
  // modified in place since, or freed by a backward without retain_graph.
  Tensor unpack(const std::shared_ptr<Node>& owner) const;
  void reset() { data_ = Tensor(); }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  bool is_output_ = false;
  uint32_t output_nr_ = 0;
};

}  // namespace vt::autograd
