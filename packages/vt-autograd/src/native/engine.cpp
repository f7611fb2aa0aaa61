#include "engine.h"

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "grad_mode.h"
#include "meta.h"
#include "ops.h"
#include "stream_sync.h"

namespace vt::autograd {
namespace {

// Gradients of one node's forward outputs, summed as they arrive.
struct InputBuffer {
  std::vector<Tensor> grads;
  void add(size_t pos, Tensor g) {
    if (grads.size() <= pos) grads.resize(pos + 1);
    if (!g.defined()) return;
    grads[pos] = grads[pos].defined() ? ops::add(grads[pos], g) : std::move(g);
  }
};

struct ByCreation {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

}  // namespace

void validate_outputs(Node& node, std::vector<Tensor>& grads) {
  if (grads.size() != node.next_edges.size())
    fail(VT_ERROR_INVALID_ARGUMENT, "function ", node.name(), " returned an incorrect number of "
         "gradients (expected ", std::to_string(node.next_edges.size()), ", got ",
         std::to_string(grads.size()), ")");
  for (size_t i = 0; i < grads.size(); ++i) {
    Tensor& g = grads[i];
    if (!g.defined() || !node.next_edges[i].valid() || i >= node.input_meta.size()) continue;
    const TensorMeta& m = node.input_meta[i];
    if (g.sizes() != m.sizes) {
      try {
        g = ops::sum_to(g, m.sizes);
      } catch (const Error&) {
        fail(VT_ERROR_INVALID_ARGUMENT, "Function ", node.name(), " returned an invalid gradient "
             "at index ", std::to_string(i), " - got ", shape_string(g.sizes()),
             " but expected shape compatible with ", shape_string(m.sizes));
      }
    }
    if (g.dtype() != m.dtype) g = ops::to_dtype(g, m.dtype);
  }
}

namespace {

// Runs the node's pre-hooks (register_hook, retain_grad) on the gradients it received.
void run_pre_hooks(Node& node, std::vector<Tensor>& grads) {
  for (auto& [output_nr, hook] : node.pre_hooks) {
    if (output_nr >= grads.size() || !grads[output_nr].defined()) continue;
    Tensor r = hook(grads[output_nr]);
    if (r.defined()) grads[output_nr] = std::move(r);
  }
}

}  // namespace

std::vector<Tensor> run_backward(const std::vector<Edge>& roots, std::vector<Tensor> grads,
                                 const std::vector<Edge>& inputs, const BackwardOptions& options) {
  GradModeGuard grad_mode(options.create_graph);

  // Dependencies: how many edges lead into each node reachable from the roots.
  std::unordered_map<Node*, int> dependencies;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep_alive;
  {
    std::vector<Node*> stack;
    std::unordered_set<Node*> seen;
    for (const Edge& e : roots)
      if (e.valid() && seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_edges) {
        if (!e.valid()) continue;
        ++dependencies[e.fn.get()];
        if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
      }
    }
  }

  // With inputs: only nodes from which an input's node is reachable need to run; captured
  // gradients are those arriving at (node, input_nr) of each input.
  std::unordered_set<Node*> needed;
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, size_t>>> captures;
  std::vector<Tensor> captured(inputs.size());
  const bool filtered = !inputs.empty();
  if (filtered) {
    std::unordered_set<Node*> targets;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].valid()) continue;
      targets.insert(inputs[i].fn.get());
      captures[inputs[i].fn.get()].emplace_back(inputs[i].input_nr, i);
    }
    // A node needs to run when one of its edges leads to an input's node or to a node that
    // needs to run; an input's own node only receives (its gradient is captured there).
    std::unordered_map<Node*, int> state;  // 0 unvisited, 1 in progress, 2 done
    std::vector<std::pair<Node*, size_t>> stack;
    for (const Edge& e : roots) {
      if (!e.valid() || state[e.fn.get()]) continue;
      stack.emplace_back(e.fn.get(), 0);
      state[e.fn.get()] = 1;
      while (!stack.empty()) {
        auto& [n, next] = stack.back();
        if (next < n->next_edges.size()) {
          const Edge& ed = n->next_edges[next++];
          if (ed.valid() && !state[ed.fn.get()]) {
            state[ed.fn.get()] = 1;
            stack.emplace_back(ed.fn.get(), 0);
          }
          continue;
        }
        bool need = false;
        for (const Edge& ed : n->next_edges)
          need = need || (ed.valid() && (targets.count(ed.fn.get()) || needed.count(ed.fn.get())));
        if (need) needed.insert(n);
        state[n] = 2;
        stack.pop_back();
      }
    }
  }

  std::unordered_map<Node*, InputBuffer> buffers;
  std::priority_queue<Node*, std::vector<Node*>, ByCreation> ready;
  // Streams that wrote results the caller reads (.grad of leaves, grad()'s outputs): the
  // caller's current streams wait for them at the end.
  std::vector<StreamRef> result_streams;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Edge& e = roots[i];
    if (!e.valid()) continue;
    keep_alive.emplace(e.fn.get(), e.fn);
    // The root gradients were made on the caller's current stream.
    const StreamRef root_stream = node_stream(*e.fn);
    if (root_stream.valid()) wait_for(root_stream, current_stream(root_stream.device));
    buffers[e.fn.get()].add(e.input_nr, std::move(grads[i]));
  }
  for (const Edge& e : roots)
    if (e.valid() && dependencies[e.fn.get()] == 0 && buffers.count(e.fn.get())) {
      ready.push(e.fn.get());
      dependencies[e.fn.get()] = -1;  // queued
    }

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    std::shared_ptr<Node> hold = keep_alive[node];
    const StreamRef stream = node_stream(*node);
    StreamGuard on_stream(stream);
    std::vector<Tensor> in;
    if (auto b = buffers.find(node); b != buffers.end()) {
      in = std::move(b->second.grads);
      buffers.erase(b);
    }
    in.resize(std::max(in.size(), node->output_meta.size()));
    run_pre_hooks(*node, in);

    if (auto it = captures.find(node); it != captures.end())
      for (auto [input_nr, slot] : it->second)
        if (input_nr < in.size() && in[input_nr].defined())
          captured[slot] = captured[slot].defined() ? ops::add(captured[slot], in[input_nr])
                                                    : in[input_nr];

    if (stream.valid() && (node->is_accumulate_grad() || captures.count(node)) &&
        std::none_of(result_streams.begin(), result_streams.end(),
                     [&](const StreamRef& s) { return s.same(stream); }))
      result_streams.push_back(stream);
    const bool leaf_input = node->is_accumulate_grad() && captures.count(node);
    const bool run = filtered ? (needed.count(node) > 0 && !node->is_accumulate_grad()) ||
                                    (leaf_input && options.accumulate_into_leaves)
                              : options.accumulate_into_leaves || !node->is_accumulate_grad();
    std::vector<Tensor> out;
    bool any = false;
    for (const Tensor& g : in) any = any || g.defined();
    if (run && any) {
      out = node->apply(std::move(in));
      validate_outputs(*node, out);
    }
    if (!options.keep_graph && run) node->release_variables();

    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      Node* next = e.fn.get();
      keep_alive.emplace(next, e.fn);
      if (i < out.size() && out[i].defined()) {
        const StreamRef next_stream = stream.valid() ? node_stream(*next) : StreamRef{};
        wait_for(next_stream, stream);
        StreamGuard accumulate_on(next_stream);
        buffers[next].add(e.input_nr, std::move(out[i]));
      }
      // Every reachable node is visited once all its edges are in, even with no gradient, so
      // that the nodes below it see their dependencies fall to zero.
      if (--dependencies[next] == 0) ready.push(next);
    }
    keep_alive.erase(node);
  }

  for (const StreamRef& s : result_streams) wait_for(current_stream(s.device), s);

  if (filtered && !options.accumulate_into_leaves && !options.allow_unused) {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!captured[i].defined())
        fail(VT_ERROR_INVALID_ARGUMENT, "One of the differentiated Tensors appears to not have "
             "been used in the graph. Set allow_unused=True if this is the desired behavior.");
  }
  return captured;
}

}  // namespace vt::autograd
