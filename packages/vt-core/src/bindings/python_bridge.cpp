// The capsule through which sibling extension modules turn vt.core Tensor objects into
// vt_tensor_t handles and back (include/vt/c/python_bridge.h), and the list of defined ops.
#include "bindings/common.h"

#include "dispatch/dispatcher.h"
#include "vt/c/python_bridge.h"

namespace vt::py {
namespace {

void* wrap(vt_tensor_t tensor) {
  Tensor t = Tensor::from_c_owned(tensor);
  try {
    return nb::cast(std::move(t)).release().ptr();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
}

int32_t unwrap(void* obj, vt_tensor_t* out) {
  nb::handle h(static_cast<PyObject*>(obj));
  if (!nb::isinstance<Tensor>(h)) return 0;
  *out = nb::inst_ptr<Tensor>(h)->to_c_borrowed();
  return 1;
}

}  // namespace

void bind_python_bridge(nb::module_& m) {
  m.def("_python_bridge_capsule", [] {
    static vt_python_bridge_t bridge = {sizeof(vt_python_bridge_t), &wrap, &unwrap, nullptr};
    bridge.tensor_type = nb::type<Tensor>().ptr();
    return nb::steal(PyCapsule_New(&bridge, "vt.core.python_bridge", nullptr));
  }, "A capsule named 'vt.core.python_bridge': wrap/unwrap between Tensor objects and vt_tensor_t.");
  m.def("_op_schemas", [] {
    nb::list out;
    for (const std::string& s : defined_op_schemas()) out.append(s);
    return out;
  }, "The schema of every defined op, sorted by name.");
}

}  // namespace vt::py
