// Custom autograd Functions written in Python (vt.autograd.Function): the node that calls the
// class's backward, and the binding that attaches it to a forward call's outputs.
#pragma once

#include <nanobind/nanobind.h>

#include "common.h"

namespace vt::autograd {

using FromPy = Tensor (*)(nanobind::handle, const char*);
using ToPy = nanobind::object (*)(Tensor);

void bind_python_function(nanobind::module_& m, FromPy from_py, ToPy to_py);

}  // namespace vt::autograd
