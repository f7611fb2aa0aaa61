// The backward engine. Each call runs its own graph task on the calling thread: dependency
// counts, input buffers that sum gradients arriving along several edges, and a ready queue
// ordered by node creation (latest first). There is no process-wide lock: backward calls on
// independent graphs from several threads run at the same time, and a backward started inside
// a node (a custom Function calling backward) simply runs nested.
#pragma once

#include <optional>
#include <vector>

#include "node.h"

namespace vt::autograd {

struct BackwardOptions {
  bool keep_graph = false;
  bool create_graph = false;
  bool accumulate_into_leaves = true;  // backward(); false for grad()
  bool allow_unused = false;
};

// Makes a node's result match its forward inputs: broadcasts summed away, dtype restored, the
// count checked.
void validate_outputs(Node& node, std::vector<Tensor>& grads);

// Runs backward from `roots` (with gradients `grads`, one per root). With `inputs` given,
// gradients flow only towards them; for grad() the result holds the gradient of each input
// (undefined where unused), for backward(inputs=...) only those leaves accumulate.
std::vector<Tensor> run_backward(const std::vector<Edge>& roots, std::vector<Tensor> grads,
                                 const std::vector<Edge>& inputs, const BackwardOptions& options);

}  // namespace vt::autograd
