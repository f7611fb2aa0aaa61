#include "python_function.h"

#include "grad_mode.h"
#include "meta.h"
#include "ops.h"
#include "saved_variable.h"

namespace nb = nanobind;

namespace vt::autograd {
namespace {

FromPy g_from_py = nullptr;
ToPy g_to_py = nullptr;

vt_tensor_t handle_of(nb::handle h) {
  vt_tensor_t t = nullptr;
  try {
    t = g_from_py(h, "Function").get();
  } catch (const Error&) {
    return nullptr;
  }
  return t;
}

bool is_tensor(nb::handle h) { return handle_of(h) != nullptr; }

class PyFunctionNode final : public Node {
 public:
  PyFunctionNode(std::string name, nb::object backward, nb::object ctx, bool materialize)
      : name_(std::move(name)), backward_(std::move(backward)), ctx_(std::move(ctx)),
        materialize_(materialize) {}
  ~PyFunctionNode() override {
    if (!Py_IsInitialized()) {
      (void)backward_.release();
      (void)ctx_.release();
      return;
    }
    nb::gil_scoped_acquire gil;
    backward_.reset();
    ctx_.reset();
  }

  std::string name() const override { return name_; }

  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    std::lock_guard lock(mutex);
    if (released) raise_released();
    nb::gil_scoped_acquire gil;
    nb::list args;
    for (size_t j = 0; j < grads.size(); ++j) {
      Tensor g = grads[j];
      if (!g.defined() && materialize_ && j < output_meta.size() && output_meta[j].defined)
        g = ops::full(output_meta[j].sizes, 0.0, output_meta[j].dtype, output_meta[j].device);
      args.append(g_to_py(g));
    }
    nb::list saved;
    auto self = shared_from_this();
    for (const SavedVariable& s : saved_) saved.append(g_to_py(s.unpack(self)));
    nb::setattr(ctx_, "_saved", nb::tuple(saved));
    nb::object result = backward_(ctx_, *nb::tuple(args));
    nb::setattr(ctx_, "_saved", nb::none());
    std::vector<nb::handle> values;
    if (nb::isinstance<nb::tuple>(result) || nb::isinstance<nb::list>(result)) {
      for (nb::handle h : result) values.push_back(h);
    } else {
      values.push_back(result);
    }
    const size_t expected = next_edges.size();
    // Extra trailing Nones are allowed, as in torch.
    while (values.size() > expected && values.back().is_none()) values.pop_back();
    if (values.size() != expected)
      fail(VT_ERROR_INVALID_ARGUMENT, "function ", name_, " returned an incorrect number of "
           "gradients (expected ", std::to_string(expected), ", got ",
           std::to_string(values.size()), ")");
    std::vector<Tensor> out(expected);
    for (size_t i = 0; i < expected; ++i) {
      if (values[i].is_none()) continue;
      if (!is_tensor(values[i]))
        fail(VT_ERROR_TYPE, "function ", name_, " returned a gradient of type ",
             nb::inst_name(values[i]).c_str(), " at position ", std::to_string(i),
             "; expected a Tensor or None");
      if (next_edges[i].valid()) out[i] = g_from_py(values[i], "Function.backward");
    }
    return out;
  }

  void release_variables() override {
    std::lock_guard lock(mutex);
    if (!saved_.empty()) released = true;
    saved_.clear();
  }

  std::vector<SavedVariable> saved_;

 private:
  std::string name_;
  nb::object backward_;
  nb::object ctx_;
  bool materialize_;
};

// Attaches a PyFunctionNode to the outputs of a forward call that ran under no_grad.
nb::object function_apply(nb::str name, nb::object backward, nb::object ctx, nb::tuple inputs,
                          nb::object outputs, nb::list saved, nb::list dirty, nb::list non_diff,
                          bool materialize) {
  bool any = false;
  for (nb::handle h : inputs)
    if (vt_tensor_t t = handle_of(h)) any = any || requires_grad(t);
  const bool single = !nb::isinstance<nb::tuple>(outputs);
  nb::tuple outs = single ? nb::make_tuple(outputs) : nb::borrow<nb::tuple>(outputs);
  if (!any || !grad_enabled()) return outputs;

  auto node = std::make_shared<PyFunctionNode>(std::string(name.c_str()) + "Backward",
                                               std::move(backward), std::move(ctx), materialize);
  for (nb::handle h : inputs) {
    vt_tensor_t t = handle_of(h);
    node->next_edges.push_back(t ? gradient_edge(Tensor::borrow(t)) : Edge{});
    node->input_meta.push_back(TensorMeta::of(t));
  }
  auto listed = [](nb::list l, vt_tensor_t t) {
    for (nb::handle h : l)
      if (handle_of(h) == t) return true;
    return false;
  };
  nb::list result;
  std::vector<Tensor> recorded;
  uint32_t j = 0;
  for (nb::handle h : outs) {
    vt_tensor_t t = handle_of(h);
    if (!t) {
      result.append(h);
      node->output_meta.emplace_back();
      ++j;
      continue;
    }
    Tensor out = Tensor::borrow(t);
    bool is_input = false;
    for (nb::handle in : inputs) is_input = is_input || handle_of(in) == t;
    if (listed(dirty, t)) {
      AutogradMeta* m = meta_of(t);
      if (m && m->requires_grad && !m->grad_fn)
        fail(VT_ERROR_INVALID_ARGUMENT,
             "a leaf Variable that requires grad is being used in an in-place operation.");
    } else if (is_input) {
      out = alias_without_history(out);  // an input returned as is: a new tensor gets the history
    }
    node->output_meta.push_back(TensorMeta::of(out.get()));
    if (!listed(non_diff, t) && is_floating_dtype(out.dtype())) set_history(out.get(), node, j);
    recorded.push_back(out);
    result.append(out.get() == t ? nb::borrow(h) : g_to_py(out));
    ++j;
  }
  for (nb::handle h : saved) {
    vt_tensor_t t = handle_of(h);
    if (!t) {
      node->saved_.emplace_back();
      continue;
    }
    bool is_output = false;
    uint32_t nr = 0;
    for (uint32_t k = 0; k < recorded.size(); ++k)
      if (recorded[k].get() == t) is_output = true, nr = k;
    node->saved_.emplace_back(Tensor::borrow(t), is_output, nr);
  }
  return single ? nb::object(result[0]) : nb::object(nb::tuple(result));
}

}  // namespace

void bind_python_function(nb::module_& m, FromPy from_py, ToPy to_py) {
  g_from_py = from_py;
  g_to_py = to_py;
  m.def("function_apply", &function_apply, nb::arg("name"), nb::arg("backward"), nb::arg("ctx"),
        nb::arg("inputs"), nb::arg("outputs"), nb::arg("saved"), nb::arg("dirty"),
        nb::arg("non_differentiable"), nb::arg("materialize_grads"));
}

}  // namespace vt::autograd
