// vt.autograd._C: the engine's Python surface. Tensors arrive as vt.core Tensor objects and are
// converted through vt-core's Python bridge capsule; the engine itself sees only the C ABI.
#include <nanobind/nanobind.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <atomic>

#include "accumulate_grad.h"
#include "engine.h"
#include "formula.h"
#include "grad_mode.h"
#include "layer.h"
#include "meta.h"
#include "ops.h"
#include "python_function.h"
#include "vt/c/python_bridge.h"

namespace nb = nanobind;

namespace vt::autograd {
namespace {

const vt_python_bridge_t* g_bridge = nullptr;

Tensor from_py(nb::handle h, const char* what) {
  vt_tensor_t t = nullptr;
  if (!g_bridge || !g_bridge->unwrap(h.ptr(), &t))
    fail(VT_ERROR_TYPE, what, ": expected a vt Tensor, got ", nb::inst_name(h).c_str());
  return Tensor::borrow(t);
}

std::optional<Tensor> optional_from_py(nb::handle h, const char* what) {
  if (h.is_none()) return std::nullopt;
  return from_py(h, what);
}

nb::object to_py(Tensor t) {
  if (!t.defined()) return nb::none();
  void* obj = g_bridge->wrap(t.release());
  if (!obj) throw nb::python_error();
  return nb::steal(static_cast<PyObject*>(obj));
}

// A grad_fn as seen from Python: equal (and hashing equal) for the same node.
struct PyNode {
  std::shared_ptr<Node> node;
  std::string name() const { return node->name(); }
};

nb::object node_to_py(const std::shared_ptr<Node>& n) {
  if (!n) return nb::none();
  return nb::cast(PyNode{n});
}

// A removable hook: remove() turns it off for good.
struct HookHandle {
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
  void remove() { alive->store(false); }
};

GradHook python_hook(nb::object fn, std::shared_ptr<std::atomic<bool>> alive) {
  auto holder = std::make_shared<nb::object>(std::move(fn));
  return [holder, alive](const Tensor& g) -> Tensor {
    if (!alive->load()) return Tensor();
    nb::gil_scoped_acquire gil;
    nb::object r = (*holder)(to_py(g));
    if (r.is_none()) return Tensor();
    return from_py(r, "hook");
  };
}

bool tensor_requires_grad(nb::handle t) { return requires_grad(from_py(t, "requires_grad").get()); }

void set_requires_grad(nb::handle h, bool on) {
  Tensor t = from_py(h, "requires_grad_");
  AutogradMeta* m = meta_of(t.get());
  if (m && m->grad_fn) {
    if (on) return;
    fail(VT_ERROR_INVALID_ARGUMENT, "you can only change requires_grad flags of leaf variables. "
         "If you want to use a computed variable in a subgraph that doesn't require "
         "differentiation use var_no_grad = var.detach().");
  }
  if (on && is_inference_tensor(t.get()) && !api().inference_mode_enabled())
    fail(VT_ERROR_INVALID_ARGUMENT, "Setting requires_grad=True on inference tensor outside "
         "InferenceMode is not allowed.");
  if (on && !is_floating_dtype(t.dtype()))
    fail(VT_ERROR_INVALID_ARGUMENT, "only Tensors of floating point and complex dtype can "
         "require gradients (got ", dtype_name(t.dtype()), ")");
  if (!on && !m) return;
  AutogradMeta& meta = ensure_meta(t.get());
  meta.requires_grad = on;
  set_autograd_bit(t.get(), on);
}

nb::object get_grad(nb::handle h) {
  Tensor t = from_py(h, "grad");
  AutogradMeta* m = meta_of(t.get());
  if (!m) return nb::none();
  if (m->grad_fn) {
    if (!m->retained) return nb::none();
    std::lock_guard lock(m->retained->mutex);
    return to_py(m->retained->grad);
  }
  std::lock_guard lock(m->mutex);
  return to_py(m->grad);
}

void set_grad(nb::handle h, nb::handle g) {
  Tensor t = from_py(h, "grad");
  std::optional<Tensor> grad = optional_from_py(g, "grad");
  if (grad) {
    if (grad->sizes() != t.sizes())
      fail(VT_ERROR_INVALID_ARGUMENT, "assigned grad has data of a different size: expected ",
           shape_string(t.sizes()), ", got ", shape_string(grad->sizes()));
    if (grad->dtype() != t.dtype())
      fail(VT_ERROR_INVALID_ARGUMENT, "assigned grad has data of a different type: expected ",
           dtype_name(t.dtype()), ", got ", dtype_name(grad->dtype()));
  }
  AutogradMeta* m = grad ? &ensure_meta(t.get()) : meta_of(t.get());
  if (!m) return;
  if (m->grad_fn && m->retained) {
    std::lock_guard lock(m->retained->mutex);
    m->retained->grad = grad ? *grad : Tensor();
    return;
  }
  std::lock_guard lock(m->mutex);
  m->grad = grad ? *grad : Tensor();
}

void retain_grad(nb::handle h) {
  Tensor t = from_py(h, "retain_grad");
  AutogradMeta* m = meta_of(t.get());
  if (!m || (!m->grad_fn && !m->requires_grad))
    fail(VT_ERROR_INVALID_ARGUMENT, "can't retain_grad on Tensor that has requires_grad=False");
  if (!m->grad_fn || m->retained) return;  // leaves keep .grad anyway
  auto slot = std::make_shared<RetainedGrad>();
  m->retained = slot;
  m->grad_fn->pre_hooks.emplace_back(m->output_nr, [slot](const Tensor& g) -> Tensor {
    std::lock_guard lock(slot->mutex);
    slot->grad = slot->grad.defined() ? ops::add(slot->grad, g) : ops::call<"vt::clone">(g);
    return Tensor();
  });
}

bool retains_grad(nb::handle h) {
  AutogradMeta* m = meta_of(from_py(h, "retains_grad").get());
  return m && m->grad_fn && m->retained;
}

HookHandle register_hook(nb::handle h, nb::object fn) {
  Tensor t = from_py(h, "register_hook");
  AutogradMeta* m = meta_of(t.get());
  if (!m || (!m->grad_fn && !m->requires_grad))
    fail(VT_ERROR_INVALID_ARGUMENT, "cannot register a hook on a tensor that doesn't require gradient");
  HookHandle handle;
  GradHook hook = python_hook(std::move(fn), handle.alive);
  if (m->grad_fn) {
    m->grad_fn->pre_hooks.emplace_back(m->output_nr, std::move(hook));
  } else {
    std::lock_guard lock(m->mutex);
    m->leaf_hooks.push_back(std::move(hook));
  }
  return handle;
}

HookHandle register_post_accumulate_grad_hook(nb::handle h, nb::object fn) {
  Tensor t = from_py(h, "register_post_accumulate_grad_hook");
  AutogradMeta* m = meta_of(t.get());
  if (!m || m->grad_fn)
    fail(VT_ERROR_INVALID_ARGUMENT, "post accumulate grad hooks cannot be registered on non-leaf tensors");
  if (!m->requires_grad)
    fail(VT_ERROR_INVALID_ARGUMENT, "cannot register a hook on a tensor that doesn't require gradient");
  HookHandle handle;
  auto holder = std::make_shared<nb::object>(std::move(fn));
  auto alive = handle.alive;
  std::lock_guard lock(m->mutex);
  m->post_accumulate_hooks.push_back([holder, alive](const Tensor& leaf) {
    if (!alive->load()) return;
    nb::gil_scoped_acquire gil;
    (*holder)(to_py(leaf));
  });
  return handle;
}

nb::object detach(nb::handle h) { return to_py(alias_without_history(from_py(h, "detach"))); }

void detach_(nb::handle h) {
  Tensor t = from_py(h, "detach_");
  AutogradMeta* m = meta_of(t.get());
  if (!m) return;
  if (m->is_view && m->grad_fn)
    fail(VT_ERROR_INVALID_ARGUMENT, "Can't detach views in-place. Use detach() instead.");
  m->grad_fn.reset();
  m->requires_grad = false;
  m->output_nr = 0;
  set_autograd_bit(t.get(), false);
}

// The edge a root or input tensor stands for, with the errors torch gives.
Edge edge_of(const Tensor& t, size_t i, const char* role) {
  Edge e = gradient_edge(t);
  if (!e.valid())
    fail(VT_ERROR_INVALID_ARGUMENT, "element ", std::to_string(i), " of ", role,
         " does not require grad and does not have a grad_fn");
  return e;
}

std::vector<Tensor> tensors_from(nb::handle seq, const char* what) {
  std::vector<Tensor> out;
  for (nb::handle h : seq) out.push_back(from_py(h, what));
  return out;
}

std::vector<Tensor> root_grads(const std::vector<Tensor>& roots, nb::handle grads) {
  std::vector<Tensor> out;
  size_t i = 0;
  std::vector<nb::handle> given;
  if (!grads.is_none())
    for (nb::handle g : grads) given.push_back(g);
  if (!given.empty() && given.size() != roots.size())
    fail(VT_ERROR_INVALID_ARGUMENT, "grad can be implicitly created only for scalar outputs: got ",
         std::to_string(given.size()), " gradients for ", std::to_string(roots.size()), " tensors");
  for (const Tensor& r : roots) {
    nb::handle g = given.empty() ? nb::handle() : given[i];
    if (g.is_valid() && !g.is_none()) {
      Tensor gt = from_py(g, "backward");
      if (gt.sizes() != r.sizes())
        fail(VT_ERROR_INVALID_ARGUMENT, "Mismatch in shape: grad_output[", std::to_string(i),
             "] has a shape of ", shape_string(gt.sizes()), " and output[", std::to_string(i),
             "] has a shape of ", shape_string(r.sizes()), ".");
      out.push_back(gt);
    } else {
      if (r.numel() != 1)
        fail(VT_ERROR_INVALID_ARGUMENT, "grad can be implicitly created only for scalar outputs");
      out.push_back(ops::full(r.sizes(), 1.0, r.dtype(), r.device()));
    }
    ++i;
  }
  return out;
}

void backward(nb::handle tensors, nb::handle grad_tensors, bool retain_graph, bool create_graph,
              nb::handle inputs) {
  std::vector<Tensor> roots = tensors_from(tensors, "backward");
  std::vector<Edge> edges;
  for (size_t i = 0; i < roots.size(); ++i) edges.push_back(edge_of(roots[i], i, "tensors"));
  std::vector<Tensor> grads = root_grads(roots, grad_tensors);
  std::vector<Edge> input_edges;
  if (!inputs.is_none()) {
    std::vector<Tensor> ins = tensors_from(inputs, "backward");
    for (size_t i = 0; i < ins.size(); ++i) input_edges.push_back(edge_of(ins[i], i, "inputs"));
  }
  BackwardOptions o;
  o.keep_graph = retain_graph;
  o.create_graph = create_graph;
  nb::gil_scoped_release release;
  run_backward(edges, std::move(grads), input_edges, o);
}

nb::list grad(nb::handle outputs, nb::handle inputs, nb::handle grad_outputs, bool retain_graph,
              bool create_graph, bool allow_unused, bool materialize_grads) {
  std::vector<Tensor> outs = tensors_from(outputs, "grad");
  std::vector<Edge> edges;
  for (size_t i = 0; i < outs.size(); ++i) edges.push_back(edge_of(outs[i], i, "outputs"));
  std::vector<Tensor> grads = root_grads(outs, grad_outputs);
  std::vector<Tensor> ins = tensors_from(inputs, "grad");
  std::vector<Edge> input_edges;
  for (size_t i = 0; i < ins.size(); ++i) input_edges.push_back(edge_of(ins[i], i, "inputs"));
  BackwardOptions o;
  o.keep_graph = retain_graph;
  o.create_graph = create_graph;
  o.accumulate_into_leaves = false;
  o.allow_unused = allow_unused || materialize_grads;
  std::vector<Tensor> result;
  {
    nb::gil_scoped_release release;
    result = run_backward(edges, std::move(grads), input_edges, o);
  }
  nb::list out;
  for (size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined() && materialize_grads) result[i] = ops::zeros_like(ins[i]);
    out.append(to_py(result[i]));
  }
  return out;
}

}  // namespace
}  // namespace vt::autograd

NB_MODULE(_C, m) {
  using namespace vt::autograd;
  m.doc() = "vt-autograd native module: the reverse-mode engine behind vt.autograd";
  nb::set_leak_warnings(false);  // graph nodes held by tensors alive at exit are not leaks

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const vt::cpp::Error& e) {
      PyObject* type = PyExc_RuntimeError;
      switch (e.status()) {
        case VT_ERROR_TYPE: type = PyExc_TypeError; break;
        case VT_ERROR_INDEX: type = PyExc_IndexError; break;
        case VT_ERROR_VALUE: type = PyExc_ValueError; break;
        case VT_ERROR_NOT_IMPLEMENTED: type = PyExc_NotImplementedError; break;
        case VT_ERROR_OUT_OF_MEMORY: type = PyExc_MemoryError; break;
        default: break;
      }
      PyErr_SetString(type, e.what());
    }
  });

  m.def("_init", [](nb::capsule api, nb::capsule bridge) {
    vt::cpp::set_api(static_cast<const vt_api_t*>(PyCapsule_GetPointer(api.ptr(), "vt.core.api")));
    auto* b = static_cast<const vt_python_bridge_t*>(PyCapsule_GetPointer(bridge.ptr(), "vt.core.python_bridge"));
    if (!b) throw nb::python_error();
    if (b->struct_size < sizeof(vt_python_bridge_t))
      throw std::runtime_error("vt.autograd: vt-core's Python bridge is older than this build expects");
    g_bridge = b;
    install_layer();
  });

  nb::class_<PyNode>(m, "Node")
      .def("name", &PyNode::name)
      .def_prop_ro("next_functions", [](const PyNode& p) {
        nb::list l;
        for (const Edge& e : p.node->next_edges)
          l.append(nb::make_tuple(node_to_py(e.fn), e.input_nr));
        return nb::tuple(l);
      })
      .def("__eq__", [](const PyNode& a, nb::handle b) {
        return nb::isinstance<PyNode>(b) && nb::cast<const PyNode&>(b).node == a.node;
      })
      .def("__hash__", [](const PyNode& p) { return std::hash<const void*>()(p.node.get()); })
      .def("__repr__", [](const PyNode& p) {
        return "<" + p.node->name() + " object at " + std::to_string(reinterpret_cast<uintptr_t>(p.node.get())) + ">";
      });

  nb::class_<HookHandle>(m, "RemovableHandle").def("remove", &HookHandle::remove);

  m.def("formula_ops", [] {
    nb::list out;
    for (Formula* f : all_formulas()) out.append(f->op);
    return out;
  }, "The ops that have a derivative formula (their in-place forms share it).");
  m.def("is_grad_enabled", &grad_enabled);
  m.def("set_grad_enabled", &set_grad_enabled, nb::arg("mode"));
  m.def("requires_grad", &tensor_requires_grad);
  m.def("set_requires_grad", &set_requires_grad);
  m.def("grad", &get_grad);
  m.def("set_grad", &set_grad, nb::arg("tensor"), nb::arg("grad").none());
  m.def("grad_fn", [](nb::handle t) {
    AutogradMeta* meta = meta_of(from_py(t, "grad_fn").get());
    return meta ? node_to_py(meta->grad_fn) : nb::none();
  });
  m.def("is_leaf", [](nb::handle t) { return is_leaf(from_py(t, "is_leaf").get()); });
  m.def("output_nr", [](nb::handle t) {
    AutogradMeta* meta = meta_of(from_py(t, "output_nr").get());
    return meta ? meta->output_nr : 0u;
  });
  m.def("retain_grad", &retain_grad);
  m.def("retains_grad", &retains_grad);
  m.def("register_hook", &register_hook);
  m.def("register_post_accumulate_grad_hook", &register_post_accumulate_grad_hook);
  m.def("detach", &detach);
  m.def("detach_", &detach_);
  m.def("backward", &backward, nb::arg("tensors"), nb::arg("grad_tensors").none(),
        nb::arg("retain_graph"), nb::arg("create_graph"), nb::arg("inputs").none());
  m.def("run_grad", &grad, nb::arg("outputs"), nb::arg("inputs"), nb::arg("grad_outputs").none(),
        nb::arg("retain_graph"), nb::arg("create_graph"), nb::arg("allow_unused"),
        nb::arg("materialize_grads"));
  bind_python_function(m, &from_py, &to_py);
}
