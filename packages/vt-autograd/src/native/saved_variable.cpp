#include "saved_variable.h"

#include "grad_mode.h"
#include "meta.h"

namespace vt::autograd {

SavedVariable::SavedVariable(const Tensor& t, bool is_output, uint32_t output_nr)
    : is_output_(is_output), output_nr_(output_nr) {
  if (!t.defined()) return;
  if (is_inference_tensor(t.get()))
    fail(VT_ERROR_INVALID_ARGUMENT, "Inference tensors cannot be saved for backward. To work "
         "around you can make a clone to get a normal tensor and use it in autograd.");
  data_ = is_output ? alias_without_history(t) : t;
  check(api().tensor_version(t.get(), &version_));
}

Tensor SavedVariable::unpack(const std::shared_ptr<Node>& owner) const {
  if (!data_.defined()) return Tensor();
  uint32_t now = 0;
  check(api().tensor_version(data_.get(), &now));
  if (now != version_) {
    TensorMeta m = TensorMeta::of(data_.get());
    fail(VT_ERROR_INVALID_ARGUMENT,
         "one of the variables needed for gradient computation has been modified by an "
         "inplace operation: [", dtype_name(m.dtype), " ", shape_string(m.sizes), "], which is ",
         is_output_ ? "output " + std::to_string(output_nr_) + " of " + owner->name()
                    : std::string("an input of ") + owner->name(),
         ", is at version ", std::to_string(now), "; expected version ",
         std::to_string(version_), " instead.");
  }
  if (!is_output_ || !grad_enabled()) return data_;
  // create_graph: a saved output used in a backward formula must lead back to its node.
  Tensor t = alias_without_history(data_);
  set_history(t.get(), owner, output_nr_);
  return t;
}

}  // namespace vt::autograd
