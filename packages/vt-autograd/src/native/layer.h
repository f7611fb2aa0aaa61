// The autograd wrapper layer: the dispatcher sends an op here when one of its tensors carries
// the autograd bit. It runs the kernel below, and when an input requires grad it records a node
// (the op's formula) whose outputs become the results' grad_fn.
#pragma once

namespace vt::autograd {

// Registers the layer for every op with a formula, and the fallback for all other ops.
void install_layer();

}  // namespace vt::autograd
