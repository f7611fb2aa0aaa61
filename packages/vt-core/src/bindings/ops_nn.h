// Helpers shared by the nn family's binding files (ops_nn.cpp, ops_nn_spatial.cpp).
#pragma once

#include <string>

#include "bindings/common.h"

namespace vt::py {

// A UserWarning attributed to the caller's line, as torch's functional.py warns.
void nn_warn(const std::string& message);
// None -> nullopt; a Tensor; anything else a TypeError naming op and argument.
std::optional<Tensor> nn_optional_tensor(nb::handle h, const char* op, const char* what);
// Pooling, interpolation, convolution and attention.
void bind_nn_spatial_ops(nb::module_& m);

}  // namespace vt::py
