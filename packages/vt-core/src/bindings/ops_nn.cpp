// The nn op family: Tensor methods and module functions.
#include "bindings/common.h"

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {

void bind_nn_ops(nb::module_& m, nb::class_<Tensor>& cls) {}

}  // namespace vt::py
