// Ops from Python: define by schema, call any op boxed, and register Python callables as
// kernels or as the Python wrapper layer. They enter the same dispatcher as C++ kernels.
#include "bindings/common.h"

#include "dispatch/dispatcher.h"
#include "vt/c/op.h"

namespace vt::py {
namespace {

// Python values kept alive while a boxed call reads pointers into them.
struct BoxedArgs {
  std::vector<vt_value_t> values;
  std::vector<DimVector> int_lists;
  std::vector<std::vector<Tensor>> tensor_lists;
  std::vector<std::string> strings;
};

vt_value_t box(const Argument& a, nb::handle h, BoxedArgs& keep, const Op& op) {
  vt_value_t v{};
  if (h.is_none()) {
    VT_CHECK_TYPE(a.optional, op.name(), "(): argument '", a.name, "' must be ",
                  arg_type_name(a.type), ", not None");
    return v;
  }
  auto wrong = [&]() {
    fail(VT_ERROR_TYPE, op.name(), "(): argument '", a.name, "' must be ", arg_type_name(a.type),
         ", not ", nb::inst_name(h).c_str());
  };
  switch (a.type) {
    case ArgType::Tensor:
      if (!nb::isinstance<Tensor>(h)) wrong();
      return Boxer<Tensor>::box(*nb::inst_ptr<Tensor>(h));
    case ArgType::TensorList: {
      auto& list = keep.tensor_lists.emplace_back();
      if (!PySequence_Check(h.ptr())) wrong();
      for (nb::handle item : nb::borrow<nb::object>(h)) {
        if (!nb::isinstance<Tensor>(item)) wrong();
        list.push_back(*nb::inst_ptr<Tensor>(item));
      }
      return Boxer<TensorList>::box(TensorList(list));
    }
    case ArgType::Int:
      if (PyBool_Check(h.ptr()) || !PyIndex_Check(h.ptr())) wrong();
      return Boxer<int64_t>::box(nb::cast<int64_t>(nb::steal(PyNumber_Index(h.ptr()))));
    case ArgType::IntList:
      keep.int_lists.push_back(int_list(h, op.name().c_str()));
      return Boxer<IntArrayRef>::box(keep.int_lists.back());
    case ArgType::Float:
      if (PyBool_Check(h.ptr()) || !PyNumber_Check(h.ptr())) wrong();
      return Boxer<double>::box(PyFloat_AsDouble(h.ptr()));
    case ArgType::Bool:
      if (!PyBool_Check(h.ptr())) wrong();
      return Boxer<bool>::box(h.ptr() == Py_True);
    case ArgType::Scalar: {
      auto s = to_scalar(h);
      if (!s) wrong();
      return Boxer<Scalar>::box(*s);
    }
    case ArgType::ScalarType:
      return Boxer<ScalarType>::box(to_dtype(h, op.name().c_str()));
    case ArgType::Device:
      return Boxer<Device>::box(to_device(h, op.name().c_str()));
    case ArgType::String:
      if (!nb::isinstance<nb::str>(h)) wrong();
      keep.strings.push_back(nb::cast<std::string>(h));
      return Boxer<std::string_view>::box(keep.strings.back());
  }
  return v;
}

nb::object unbox_borrowed(const vt_value_t& v) {
  switch (v.tag) {
    case VT_VALUE_NONE: return nb::none();
    case VT_VALUE_TENSOR: return nb::cast(Tensor::from_c_borrowed(v.u.tensor));
    case VT_VALUE_INT: return nb::int_(v.u.i);
    case VT_VALUE_DOUBLE: return nb::float_(v.u.d);
    case VT_VALUE_BOOL: return nb::bool_(v.u.b != 0);
    case VT_VALUE_DTYPE: return dtype_object(checked_dtype(v.u.dtype));
    case VT_VALUE_DEVICE: return device_object(Device::from_c(v.u.device));
    case VT_VALUE_STRING: return nb::str(v.u.str.data, size_t(v.u.str.size));
    case VT_VALUE_INT_LIST: {
      nb::list l;
      for (int64_t i = 0; i < v.u.ints.size; ++i) l.append(v.u.ints.data[i]);
      return nb::tuple(l);
    }
    case VT_VALUE_TENSOR_LIST: {
      nb::list l;
      for (int64_t i = 0; i < v.u.tensors.size; ++i) l.append(nb::cast(Tensor::from_c_borrowed(v.u.tensors.data[i])));
      return l;
    }
  }
  fail(VT_ERROR_INTERNAL, "unknown boxed value tag ", v.tag);
}

// Maps Python args/kwargs onto the schema, boxes them, calls with the given layer limit.
nb::object call_op(const Op& op, nb::args args, nb::kwargs kwargs, uint32_t allowed) {
  const Schema& s = op.schema();
  BoxedArgs keep;
  keep.int_lists.reserve(s.args.size());
  keep.tensor_lists.reserve(s.args.size());
  keep.strings.reserve(s.args.size());
  std::vector<vt_value_t> values(s.args.size());
  size_t npos = args.size();
  VT_CHECK_TYPE(int64_t(npos) <= s.num_positional(), op.name(), "() takes ", s.num_positional(),
                " positional arguments but ", npos, " were given");
  size_t used_kwargs = 0;
  for (size_t i = 0; i < s.args.size(); ++i) {
    const Argument& a = s.args[i];
    nb::handle h;
    if (i < npos) {
      h = args[i];
    } else if (kwargs.contains(a.name.c_str())) {
      h = kwargs[a.name.c_str()];
      ++used_kwargs;
    }
    if (h.is_valid()) values[i] = box(a, h, keep, op);
    else if (a.has_default) values[i] = a.default_value.as_value();
    else fail(VT_ERROR_TYPE, op.name(), "() missing required argument '", a.name, "'");
  }
  VT_CHECK_TYPE(used_kwargs == kwargs.size(), op.name(), "() got an unexpected keyword argument");
  std::vector<vt_value_t> outs(s.returns.size());
  call_boxed(op, values.data(), int64_t(values.size()), outs.data(), int64_t(outs.size()), allowed);
  nb::list results;
  for (auto& o : outs) {
    results.append(unbox_borrowed(o));
    vt_value_release(&o);
  }
  if (results.size() == 0) return nb::none();
  if (results.size() == 1) return results[0];
  return nb::tuple(results);
}

// Boxes a Python result into an owned value for the caller of a boxed kernel.
void box_result(ArgType type, nb::handle h, vt_value_t* out, const Op& op) {
  *out = vt_value_t{};
  if (h.is_none()) return;
  if (type == ArgType::Tensor) {
    VT_CHECK_TYPE(nb::isinstance<Tensor>(h), op.name(), ": a Python kernel returned ",
                  nb::inst_name(h).c_str(), " where a Tensor was expected");
    out->tag = VT_VALUE_TENSOR;
    out->u.tensor = Tensor(*nb::inst_ptr<Tensor>(h)).to_c_owned();
    return;
  }
  if (type == ArgType::TensorList) {
    std::vector<Tensor> list;
    for (nb::handle item : nb::borrow<nb::object>(h)) {
      VT_CHECK_TYPE(nb::isinstance<Tensor>(item), op.name(), ": a Python kernel returned a list "
                    "holding ", nb::inst_name(item).c_str());
      list.push_back(*nb::inst_ptr<Tensor>(item));
    }
    ResultBoxer<std::vector<Tensor>>::box(std::move(list), out);
    return;
  }
  Argument a;
  a.type = type;
  BoxedArgs keep;
  *out = box(a, h, keep, op);
  VT_CHECK_TYPE(out->tag == VT_VALUE_INT || out->tag == VT_VALUE_DOUBLE ||
                    out->tag == VT_VALUE_BOOL || out->tag == VT_VALUE_DTYPE ||
                    out->tag == VT_VALUE_DEVICE,
                op.name(), ": Python kernels may return tensors, numbers, dtypes or devices");
}

vt_status_t status_for_python_error(const nb::python_error& e) {
  if (e.matches(PyExc_IndexError)) return VT_ERROR_INDEX;
  if (e.matches(PyExc_TypeError)) return VT_ERROR_TYPE;
  if (e.matches(PyExc_ValueError)) return VT_ERROR_VALUE;
  if (e.matches(PyExc_NotImplementedError)) return VT_ERROR_NOT_IMPLEMENTED;
  if (e.matches(PyExc_MemoryError)) return VT_ERROR_OUT_OF_MEMORY;
  return VT_ERROR_INVALID_ARGUMENT;
}

struct PyKernel {
  nb::object fn;
  bool is_layer;
  int32_t layer;
};

// The boxed trampoline into Python: kernels get the op's arguments; a layer also gets a
// callable that redispatches below it.
vt_status_t python_kernel(void* context, vt_op_t op_handle, const vt_value_t* args, int64_t nargs,
                          vt_value_t* outs, int64_t nouts) {
  nb::gil_scoped_acquire gil;
  auto* k = static_cast<PyKernel*>(context);
  const Op& op = *Op::from_c(op_handle);
  try {
    nb::list py_args;
    if (k->is_layer) py_args.append(nb::module_::import_("vt.core._C").attr("_OpHandle")(op.name()));
    for (int64_t i = 0; i < nargs; ++i) py_args.append(unbox_borrowed(args[i]));
    nb::object r = k->fn(*nb::tuple(py_args));
    if (nouts == 1) {
      box_result(op.schema().returns[0], r, &outs[0], op);
    } else if (nouts > 1) {
      nb::tuple t = nb::borrow<nb::tuple>(r);
      VT_CHECK_TYPE(nb::isinstance<nb::tuple>(r) && int64_t(t.size()) == nouts, op.name(),
                    ": a Python kernel must return a tuple of ", nouts, " values");
      for (int64_t i = 0; i < nouts; ++i) box_result(op.schema().returns[size_t(i)], t[i], &outs[i], op);
    }
    return VT_OK;
  } catch (nb::python_error& e) {
    // The exception's own message, without the traceback nanobind would add.
    vt_status_t s = status_for_python_error(e);
    std::string message = nb::cast<std::string>(nb::str(e.value()));
    vt_set_last_error(s, message.c_str());
    return s;
  } catch (const Error& e) {
    vt_set_last_error(e.status(), e.what());
    return e.status();
  } catch (const std::exception& e) {
    vt_set_last_error(VT_ERROR_INTERNAL, e.what());
    return VT_ERROR_INTERNAL;
  }
}

struct OpHandlePy {
  Op* op;
};

int32_t device_type_of(const std::string& key) {
  if (key == "any" || key == "Any") return VT_DEVICE_ANY;
  return parse_device(key).type;
}

}  // namespace

void bind_library(nb::module_& m) {
  nb::class_<OpHandlePy>(m, "_OpHandle", "A handle to a dispatcher op, looked up once by name.")
      .def("__init__", [](OpHandlePy* self, const std::string& name) {
        new (self) OpHandlePy{&get_op(name)};
      }, nb::arg("name"))
      .def_prop_ro("name", [](const OpHandlePy& h) { return h.op->name(); })
      .def_prop_ro("schema", [](const OpHandlePy& h) { return h.op->schema().text; })
      .def("__call__", [](const OpHandlePy& h, nb::args args, nb::kwargs kwargs) {
        return call_op(*h.op, args, kwargs, kAllLayers);
      })
      .def("call_below", [](const OpHandlePy& h, int32_t layer, nb::args args, nb::kwargs kwargs) {
        VT_CHECK_VALUE(layer >= 0 && layer < VT_LAYER_COUNT, "call_below: no layer ", layer);
        return call_op(*h.op, args, kwargs, (1u << layer) - 1);
      }, "call_below(layer, *args, **kwargs): calls the op skipping `layer` and the layers above "
         "it (how a layer redispatches).")
      .def("__repr__", [](const OpHandlePy& h) { return "<vt op " + h.op->schema().text + ">"; });

  m.def("_define_op", [](const std::string& schema) { return define_op(schema).name(); },
        nb::arg("schema"));
  m.def("_has_op", [](const std::string& name) { return find_op(name) != nullptr; });
  m.def("_register_python_kernel", [](const std::string& name, const std::string& device,
                                      nb::object fn) {
    Op& op = get_op(name);
    auto* k = new PyKernel{std::move(fn), false, 0};  // lives as long as the registration
    op.set_kernel(device_type_of(device), {&python_kernel, k, nullptr, nullptr});
  }, nb::arg("name"), nb::arg("device"), nb::arg("fn"));
  m.def("_register_python_layer", [](std::optional<std::string> name, nb::object fn) {
    auto* k = new PyKernel{std::move(fn), true, VT_LAYER_PYTHON};
    KernelSlot slot{&python_kernel, k, nullptr, nullptr};
    if (name) get_op(*name).set_layer(VT_LAYER_PYTHON, slot);
    else set_fallback_layer(VT_LAYER_PYTHON, slot);
  }, nb::arg("name").none(), nb::arg("fn"));
  m.attr("LAYER_AUTOGRAD") = int(VT_LAYER_AUTOGRAD);
  m.attr("LAYER_PYTHON") = int(VT_LAYER_PYTHON);
  m.def("_set_layer_mask", [](const Tensor& t, uint32_t mask) {
    VT_CHECK_VALUE((mask >> VT_LAYER_COUNT) == 0, "unknown layer bits in ", mask);
    t.impl()->set_layer_mask(mask);
  });
  m.def("_get_layer_mask", [](const Tensor& t) { return t.impl()->layer_mask(); });
  m.def("_set_included_layers", [](uint32_t mask) { return std::exchange(layer_state().included, mask); });
  m.def("_set_excluded_layers", [](uint32_t mask) { return std::exchange(layer_state().excluded, mask); });
}

}  // namespace vt::py
